-- CreateTable
CREATE TABLE "deployments" (
    "name" TEXT NOT NULL,
    "checkpoint_id" UUID NOT NULL,
    "architecture_id" UUID NOT NULL,
    "engine" TEXT NOT NULL,
    "backend" TEXT,
    "max_batch_size" INTEGER NOT NULL,
    "max_queue_delay_ms" INTEGER NOT NULL,
    "max_queue_size" INTEGER NOT NULL,
    "dynamic_batching" BOOLEAN NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployments_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "deployments_checkpoint_id_idx" ON "deployments"("checkpoint_id");

-- CreateIndex
CREATE INDEX "deployments_architecture_id_idx" ON "deployments"("architecture_id");

-- AddForeignKey
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_checkpoint_id_fkey" FOREIGN KEY ("checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_architecture_id_fkey" FOREIGN KEY ("architecture_id") REFERENCES "architectures"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

