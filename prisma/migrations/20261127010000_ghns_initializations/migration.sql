-- CreateTable
CREATE TABLE "ghn_models" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "checkpoint_id" UUID NOT NULL,
    "config" JSONB NOT NULL,
    "source" TEXT NOT NULL,
    "source_sha256" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ghn_models_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "initializations" (
    "id" UUID NOT NULL,
    "cache_key" TEXT NOT NULL,
    "architecture_id" UUID NOT NULL,
    "method" TEXT NOT NULL,
    "ghn_id" UUID,
    "options" JSONB NOT NULL,
    "checkpoint_id" UUID,
    "job_id" UUID,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "initializations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ghn_models_name_key" ON "ghn_models"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ghn_models_checkpoint_id_key" ON "ghn_models"("checkpoint_id");

-- CreateIndex
CREATE INDEX "ghn_models_created_at_id_idx" ON "ghn_models"("created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "initializations_cache_key_key" ON "initializations"("cache_key");

-- CreateIndex
CREATE UNIQUE INDEX "initializations_checkpoint_id_key" ON "initializations"("checkpoint_id");

-- CreateIndex
CREATE INDEX "initializations_architecture_id_idx" ON "initializations"("architecture_id");

-- AddForeignKey
ALTER TABLE "ghn_models" ADD CONSTRAINT "ghn_models_checkpoint_id_fkey" FOREIGN KEY ("checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "initializations" ADD CONSTRAINT "initializations_architecture_id_fkey" FOREIGN KEY ("architecture_id") REFERENCES "architectures"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "initializations" ADD CONSTRAINT "initializations_ghn_id_fkey" FOREIGN KEY ("ghn_id") REFERENCES "ghn_models"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "initializations" ADD CONSTRAINT "initializations_checkpoint_id_fkey" FOREIGN KEY ("checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

