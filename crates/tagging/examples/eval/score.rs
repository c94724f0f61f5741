//! Precision, recall and F1 over (class, normalised name) pairs.

use std::fmt;

use crate::deezer::Query;

/// A prediction as scored: (is a title, name forms).
pub type Predicted = Vec<(bool, Vec<String>)>;

/// Counts for one class.
#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }

    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "P {:.3}  R {:.3}  F1 {:.3}   (tp {}, fp {}, fn {})",
            self.precision(),
            self.recall(),
            self.f1(),
            self.tp,
            self.fp,
            self.fn_
        )
    }
}

/// Artists, titles (works and recordings) and both.
#[derive(Default, Clone, Copy)]
pub struct Report {
    pub artists: Counts,
    pub titles: Counts,
}

impl Report {
    pub fn overall(&self) -> Counts {
        let mut all = self.artists;
        all.add(self.titles);
        all
    }

    /// Scores one item: `gold` and `predicted` are (is title, normalised name) pairs; a prediction counts as right
    /// when one of its name forms is the gold name.
    pub fn add(&mut self, gold: &[(bool, String)], predicted: &[(bool, Vec<String>)]) {
        let mut matched = vec![false; gold.len()];
        for (is_title, forms) in predicted {
            let hit = gold.iter().position(|(g_title, g_name)| g_title == is_title && forms.contains(g_name));
            let counts = if *is_title { &mut self.titles } else { &mut self.artists };
            match hit {
                Some(index) if !matched[index] => {
                    matched[index] = true;
                    counts.tp += 1;
                }
                // A second entity with the same right name (namesake recordings) is not a new error.
                Some(_) => {}
                None => counts.fp += 1,
            }
        }
        for (index, (is_title, _)) in gold.iter().enumerate() {
            if !matched[index] {
                if *is_title { self.titles.fn_ += 1 } else { self.artists.fn_ += 1 }
            }
        }
    }

    pub fn print(&self, label: &str) {
        println!("{label}");
        println!("  artists             {}", self.artists);
        println!("  works + recordings  {}", self.titles);
        println!("  overall             {}", self.overall());
    }
}

/// Names close enough that a prediction is about an ignored mention (an unlinked or wrongly linked one).
pub fn similar(a: &str, b: &str) -> bool {
    a == b || strsim::normalized_levenshtein(a, b) >= 0.8
}

/// Scores the labelled queries (predictions about ignored mentions count neither way); returns the report,
/// how many queries with no mention got a tag, and how many queries had no mention.
pub fn score_queries(queries: &[Query], predicted: &[Predicted]) -> (Report, usize, usize) {
    let mut labelled = Report::default();
    let mut alarms = 0;
    let mut empty = 0;
    for (query, predicted) in queries.iter().zip(predicted) {
        if !query.has_mentions {
            empty += 1;
            alarms += usize::from(!predicted.is_empty());
            continue;
        }
        let kept: Predicted = predicted
            .iter()
            .filter(|(_, forms)| !forms.iter().any(|f| query.ignored.iter().any(|m| similar(f, m))))
            .cloned()
            .collect();
        labelled.add(&query.gold, &kept);
    }
    (labelled, alarms, empty)
}
