-- CreateTable
CREATE TABLE "soups" (
    "id" UUID NOT NULL,
    "name" TEXT,
    "method" TEXT NOT NULL,
    "checkpoint_ids" TEXT[],
    "base_checkpoint_id" UUID,
    "parameters" JSONB NOT NULL,
    "recipe" JSONB NOT NULL,
    "dataset_id" UUID,
    "split" TEXT,
    "batch_norm_requested" TEXT,
    "batch_norm_used" TEXT NOT NULL,
    "options" JSONB NOT NULL,
    "report" JSONB,
    "job_id" UUID,
    "result_checkpoint_id" UUID,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "soups_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "soups_result_checkpoint_id_idx" ON "soups"("result_checkpoint_id");

-- CreateIndex
CREATE INDEX "soups_created_at_id_idx" ON "soups"("created_at", "id");

-- AddForeignKey
ALTER TABLE "soups" ADD CONSTRAINT "soups_result_checkpoint_id_fkey" FOREIGN KEY ("result_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE SET NULL ON UPDATE CASCADE;

