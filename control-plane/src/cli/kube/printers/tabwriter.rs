//! `TabWriter`: Go's `text/tabwriter` elastic tabstops (no flags), which kubectl uses for tables
//! (min width 6, padding 3) and for `describe` (min width 0, padding 2). Cells are separated by
//! `\t`; the text after a line's last tab is not a cell and is never padded; a column block ends
//! at the first line that has no cell in that column.

/// Formats tab-separated lines exactly as Go's `tabwriter.Writer` with padchar `' '`.
#[derive(Debug, Clone, Copy)]
pub struct TabWriter {
    pub min_width: usize,
    pub padding: usize,
}

/// kubectl's table printer settings.
pub const TABLE: TabWriter = TabWriter {
    min_width: 6,
    padding: 3,
};

/// kubectl's describe settings.
pub const DESCRIBE: TabWriter = TabWriter {
    min_width: 0,
    padding: 2,
};

impl TabWriter {
    /// Formats `text` (lines ending in `\n`; a final line without one is kept as is).
    pub fn format(&self, text: &str) -> String {
        let lines: Vec<Vec<&str>> = text
            .split_inclusive('\n')
            .map(|l| l.strip_suffix('\n').unwrap_or(l).split('\t').collect())
            .collect();
        let ends_with_newline = text.ends_with('\n');
        let mut out = String::with_capacity(text.len() * 2);
        let mut widths = Vec::new();
        self.block(&lines, 0, lines.len(), &mut widths, &mut out);
        if !ends_with_newline && out.ends_with('\n') {
            out.pop();
        }
        out
    }

    /// Column widths for rows of cells (every cell but the last of a row is padded).
    pub fn widths(&self, rows: &[Vec<String>]) -> Vec<usize> {
        let mut widths: Vec<usize> = Vec::new();
        for row in rows {
            for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
                let w = (cell.chars().count() + self.padding).max(self.min_width);
                if i >= widths.len() {
                    widths.push(w);
                } else {
                    widths[i] = widths[i].max(w);
                }
            }
        }
        widths
    }

    fn block(
        &self,
        lines: &[Vec<&str>],
        mut line0: usize,
        line1: usize,
        widths: &mut Vec<usize>,
        out: &mut String,
    ) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            // A column block starts here: write the lines above it, then size the column.
            write_lines(lines, line0, this, widths, out);
            line0 = this;
            let mut width = self.min_width;
            while this < line1 && column + 1 < lines[this].len() {
                width = width.max(lines[this][column].chars().count() + self.padding);
                this += 1;
            }
            widths.push(width);
            self.block(lines, line0, this, widths, out);
            widths.pop();
            line0 = this;
        }
        write_lines(lines, line0, line1, widths, out);
    }
}

fn write_lines(
    lines: &[Vec<&str>],
    line0: usize,
    line1: usize,
    widths: &[usize],
    out: &mut String,
) {
    for line in &lines[line0..line1] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() && j + 1 < line.len() {
                let pad = widths[j].saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
}

/// One row of cells padded to `widths` (the last cell unpadded), as a watch prints new rows
/// under a table it printed before (tabwriter's RememberWidths).
pub fn pad_row(cells: &[String], widths: &[usize]) -> String {
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        out.push_str(cell);
        if i + 1 < cells.len() {
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = w.saturating_sub(cell.chars().count());
            out.extend(std::iter::repeat_n(' ', pad.max(1)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_are_padded_like_kubectl() {
        let text = "NAME\tREADY\tSTATUS\tRESTARTS\tAGE\nnginx\t0/1\tPending\t0\t5s\n";
        assert_eq!(
            TABLE.format(text),
            "NAME    READY   STATUS    RESTARTS   AGE\nnginx   0/1     Pending   0          5s\n"
        );
    }

    #[test]
    fn short_columns_get_the_minimum_width() {
        assert_eq!(TABLE.format("A\tB\nx\ty\n"), "A     B\nx     y\n");
    }

    #[test]
    fn describe_blocks_end_at_lines_without_tabs() {
        let text = "Name:\tweb\nNamespace:\tdefault\nLabels:\n  app:\tweb\n";
        assert_eq!(
            DESCRIBE.format(text),
            "Name:       web\nNamespace:  default\nLabels:\n  app:  web\n"
        );
    }

    #[test]
    fn nested_blocks_align_independently() {
        let text = "a:\tb\tc\nlonger:\tb\n";
        assert_eq!(DESCRIBE.format(text), "a:       b  c\nlonger:  b\n");
    }

    #[test]
    fn remembered_widths_pad_new_rows() {
        let rows = vec![vec!["NAME".to_string(), "AGE".to_string()]];
        let w = TABLE.widths(&rows);
        assert_eq!(w, vec![7]);
        assert_eq!(pad_row(&["web".into(), "1s".into()], &w), "web    1s");
    }
}
