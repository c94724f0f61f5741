//! A small first-in-first-out buffer of planar stereo frames, reused block after block (it never grows beyond the
//! largest decoded packet plus one mix block).

/// Planar stereo frames waiting to be mixed.
#[derive(Debug, Default)]
pub(crate) struct StereoFifo {
    left: Vec<f32>,
    right: Vec<f32>,
    start: usize,
}

impl StereoFifo {
    /// Frames available.
    pub(crate) fn len(&self) -> usize {
        self.left.len() - self.start
    }

    /// Appends frames; `right == None` means mono (the same samples on both sides).
    pub(crate) fn push(&mut self, left: &[f32], right: Option<&[f32]>) {
        self.compact();
        self.left.extend_from_slice(left);
        match right {
            Some(right) => self.right.extend_from_slice(&right[..left.len().min(right.len())]),
            None => self.right.extend_from_slice(left),
        }
        // Both sides always hold the same number of frames.
        let n = self.left.len().min(self.right.len());
        self.left.truncate(n);
        self.right.truncate(n);
    }

    /// The available frames, oldest first.
    pub(crate) fn as_slices(&self) -> (&[f32], &[f32]) {
        (&self.left[self.start..], &self.right[self.start..])
    }

    /// Drops the `n` oldest frames.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.left.len());
    }

    /// Moves the unread frames to the front so the vectors do not grow.
    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        self.left.drain(..self.start);
        self.right.drain(..self.start);
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_and_consumes_in_order() {
        let mut fifo = StereoFifo::default();
        fifo.push(&[1.0, 2.0, 3.0], Some(&[-1.0, -2.0, -3.0]));
        fifo.consume(2);
        fifo.push(&[4.0], None);
        assert_eq!(fifo.len(), 2);
        let (l, r) = fifo.as_slices();
        assert_eq!(l, &[3.0, 4.0]);
        assert_eq!(r, &[-3.0, 4.0]);
    }
}
