-- The main fuse size of a metering point, for grid tariffs priced by it (fri-nettleie OV_TREFASE).
-- NULL: not known; a contract on such a tariff is then not ready, with the reason.
ALTER TABLE metering_points ADD COLUMN main_fuse_amperes INTEGER
    CHECK (main_fuse_amperes IS NULL OR main_fuse_amperes BETWEEN 1 AND 10000);
