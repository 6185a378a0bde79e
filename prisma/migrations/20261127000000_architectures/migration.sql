-- AlterTable
ALTER TABLE "architectures" ADD COLUMN     "executable" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "ghn_graph" JSONB,
ADD COLUMN     "model_class" TEXT,
ALTER COLUMN "graph" DROP NOT NULL;

-- CreateIndex
CREATE INDEX "architectures_created_at_id_idx" ON "architectures"("created_at", "id");

