-- The bagging line every environment starts with.
INSERT INTO production_lines (line_code, name, description, ideal_cycle_time_seconds)
VALUES ('L-BAG1', 'Bagging Line 1', 'Seed line from the MS5.0 reference plant', 1.0)
ON CONFLICT (line_code) DO NOTHING;

INSERT INTO equipment_config (equipment_code, name, line_id, equipment_type)
SELECT 'BP01.PACK.BAG1', 'Bag packer 1', id, 'packer' FROM production_lines WHERE line_code = 'L-BAG1'
ON CONFLICT (equipment_code) DO NOTHING;
