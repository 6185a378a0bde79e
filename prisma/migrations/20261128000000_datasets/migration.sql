-- CreateTable
CREATE TABLE "datasets" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "shape" INTEGER[],
    "input_dtype" TEXT NOT NULL,
    "class_count" INTEGER NOT NULL,
    "class_names" JSONB,
    "normalization" JSONB NOT NULL,
    "split_seed" INTEGER NOT NULL,
    "validation_fraction" DOUBLE PRECISION NOT NULL,
    "test_fraction" DOUBLE PRECISION NOT NULL,
    "split_sizes" JSONB NOT NULL,
    "blob_sha256" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "datasets_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "datasets_blob_sha256_idx" ON "datasets"("blob_sha256");

-- CreateIndex
CREATE INDEX "datasets_created_at_id_idx" ON "datasets"("created_at", "id");

-- AddForeignKey
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_blob_sha256_fkey" FOREIGN KEY ("blob_sha256") REFERENCES "blobs"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

