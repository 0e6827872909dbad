-- Moving in becomes a work order too (kind `move_in`): the customer names the supplier product
-- they choose, kept in `product_code` (NULL for the other kinds).
ALTER TABLE work_orders DROP CONSTRAINT work_orders_kind_check;
ALTER TABLE work_orders ADD CONSTRAINT work_orders_kind_check
    CHECK (kind IN ('move_out', 'move_in', 'postpone'));
ALTER TABLE work_orders ADD COLUMN product_code TEXT;
