-- CreateTable
CREATE TABLE "trainings" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "architecture_id" UUID NOT NULL,
    "start_checkpoint_id" UUID,
    "initialization_id" UUID,
    "dataset_id" UUID NOT NULL,
    "config" JSONB NOT NULL,
    "job_id" UUID,
    "state_checkpoint_id" UUID,
    "progress" JSONB,
    "curve" JSONB NOT NULL DEFAULT '[]',
    "saved_checkpoint_ids" TEXT[],
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "trainings_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "trainings_state_checkpoint_id_key" ON "trainings"("state_checkpoint_id");

-- CreateIndex
CREATE INDEX "trainings_start_checkpoint_id_idx" ON "trainings"("start_checkpoint_id");

-- CreateIndex
CREATE INDEX "trainings_dataset_id_idx" ON "trainings"("dataset_id");

-- CreateIndex
CREATE INDEX "trainings_created_at_id_idx" ON "trainings"("created_at", "id");

-- AddForeignKey
ALTER TABLE "trainings" ADD CONSTRAINT "trainings_start_checkpoint_id_fkey" FOREIGN KEY ("start_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "trainings" ADD CONSTRAINT "trainings_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "trainings" ADD CONSTRAINT "trainings_state_checkpoint_id_fkey" FOREIGN KEY ("state_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE SET NULL ON UPDATE CASCADE;

