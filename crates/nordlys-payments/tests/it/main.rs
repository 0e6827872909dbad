mod ocr;
mod ocr_properties;
