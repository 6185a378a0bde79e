-- AlterTable
ALTER TABLE "checkpoints" ADD COLUMN     "metrics_source" JSONB;

-- CreateTable
CREATE TABLE "evaluations" (
    "id" UUID NOT NULL,
    "dataset_id" UUID NOT NULL,
    "split" TEXT NOT NULL,
    "batch_norm" TEXT NOT NULL,
    "options" JSONB NOT NULL,
    "checkpoint_ids" TEXT[],
    "job_id" UUID,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "evaluations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "evaluation_results" (
    "evaluation_id" UUID NOT NULL,
    "checkpoint_id" UUID NOT NULL,
    "top1" DOUBLE PRECISION NOT NULL,
    "top5" DOUBLE PRECISION,
    "loss" DOUBLE PRECISION NOT NULL,
    "count" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "evaluation_results_pkey" PRIMARY KEY ("evaluation_id","checkpoint_id")
);

-- CreateIndex
CREATE INDEX "evaluations_dataset_id_idx" ON "evaluations"("dataset_id");

-- CreateIndex
CREATE INDEX "evaluations_created_at_id_idx" ON "evaluations"("created_at", "id");

-- CreateIndex
CREATE INDEX "evaluation_results_checkpoint_id_idx" ON "evaluation_results"("checkpoint_id");

-- AddForeignKey
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation_results" ADD CONSTRAINT "evaluation_results_evaluation_id_fkey" FOREIGN KEY ("evaluation_id") REFERENCES "evaluations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation_results" ADD CONSTRAINT "evaluation_results_checkpoint_id_fkey" FOREIGN KEY ("checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

