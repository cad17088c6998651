//! A sink that takes the tensors `summarize` takes (floats) and checks the row contract.

use ccc_summarize::{SummarizeError, TensorInfo, TensorSink};

#[derive(Default)]
pub struct CheckSink {
    next_row: usize,
    current: Option<String>,
}

impl TensorSink for CheckSink {
    fn wants(&self, info: &TensorInfo) -> bool {
        info.dtype.is_float()
    }

    fn rows(&mut self, info: &TensorInfo, first_row: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        if self.current.as_deref() != Some(info.name.as_str()) {
            self.current = Some(info.name.clone());
            self.next_row = 0;
        }
        let row_bytes = info.row_len() * info.dtype.size();
        assert!(row_bytes > 0 && bytes.len() % row_bytes == 0, "partial row");
        assert_eq!(first_row, self.next_row, "rows out of order");
        self.next_row += bytes.len() / row_bytes;
        assert!(self.next_row <= info.n_rows(), "more rows than the tensor has");
        Ok(())
    }

    fn end_tensor(&mut self, info: &TensorInfo) -> Result<(), SummarizeError> {
        if info.row_len() * info.dtype.size() > 0 {
            assert_eq!(self.next_row, info.n_rows(), "rows missing");
        }
        self.current = None;
        self.next_row = 0;
        Ok(())
    }
}
