mod camt;
mod camt_properties;
mod ocr;
mod ocr_properties;
mod payments;
