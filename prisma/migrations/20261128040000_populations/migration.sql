-- CreateTable
CREATE TABLE "populations" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "variant" TEXT NOT NULL,
    "alpha" DOUBLE PRECISION,
    "every" INTEGER NOT NULL DEFAULT 1,
    "seed" INTEGER NOT NULL DEFAULT 0,
    "stale_after_seconds" INTEGER NOT NULL,
    "architecture_id" UUID,
    "layout" JSONB,
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "populations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "population_members" (
    "population_id" UUID NOT NULL,
    "k" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "blob_sha256" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "pushed_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "population_members_pkey" PRIMARY KEY ("population_id","k")
);

-- CreateTable
CREATE TABLE "population_retired_versions" (
    "population_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "k" INTEGER NOT NULL,
    "blob_sha256" TEXT NOT NULL,
    "retired_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "population_retired_versions_pkey" PRIMARY KEY ("population_id","version")
);

-- CreateTable
CREATE TABLE "population_reads" (
    "id" UUID NOT NULL,
    "population_id" UUID NOT NULL,
    "versions" INTEGER[],
    "expires_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "population_reads_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "populations_created_at_id_idx" ON "populations"("created_at", "id");

-- CreateIndex
CREATE INDEX "population_members_blob_sha256_idx" ON "population_members"("blob_sha256");

-- CreateIndex
CREATE INDEX "population_retired_versions_blob_sha256_idx" ON "population_retired_versions"("blob_sha256");

-- CreateIndex
CREATE INDEX "population_reads_population_id_idx" ON "population_reads"("population_id");

-- AddForeignKey
ALTER TABLE "population_members" ADD CONSTRAINT "population_members_population_id_fkey" FOREIGN KEY ("population_id") REFERENCES "populations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "population_members" ADD CONSTRAINT "population_members_blob_sha256_fkey" FOREIGN KEY ("blob_sha256") REFERENCES "blobs"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "population_retired_versions" ADD CONSTRAINT "population_retired_versions_population_id_fkey" FOREIGN KEY ("population_id") REFERENCES "populations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "population_retired_versions" ADD CONSTRAINT "population_retired_versions_blob_sha256_fkey" FOREIGN KEY ("blob_sha256") REFERENCES "blobs"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "population_reads" ADD CONSTRAINT "population_reads_population_id_fkey" FOREIGN KEY ("population_id") REFERENCES "populations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

