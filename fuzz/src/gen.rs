//! Structure-aware inputs: Powens-shaped JSON written from the fuzzer's bytes.
//!
//! Every choice (which members, in which order, which value form, which white space, which
//! characters are written as escapes) is read from an [`Unstructured`], so libFuzzer's
//! coverage feedback steers the structure while the text stays valid JSON most of the time.
//! The generated text is always the exact input of the code under test: nothing is
//! re-encoded after the choices.

use arbitrary::Unstructured;

/// The accounts of the mapping book every page is mapped with: `(id, currency, precision)`.
/// EUR (the SEPA scheme rules), a zero-decimal and a three-decimal currency, a non-EUR
/// two-decimal one and a wide one.
pub const BOOK: &[(i64, &str, u32)] = &[
    (17, "EUR", 2),
    (18, "JPY", 0),
    (19, "KWD", 3),
    (20, "USD", 2),
    (21, "BTC", 8),
];

/// A JSON text under construction, with the fuzzer's choices.
pub struct Json<'a, 'u> {
    /// The text so far.
    pub out: String,
    /// Where the choices come from.
    pub u: &'u mut Unstructured<'a>,
    /// White space between tokens (chosen once per document).
    spacey: bool,
}

impl<'a, 'u> Json<'a, 'u> {
    /// An empty document.
    pub fn new(u: &'u mut Unstructured<'a>) -> Self {
        let spacey = pick(u, 4) == 0;
        Self {
            out: String::new(),
            u,
            spacey,
        }
    }

    /// A number in `0..n` from the input (0 once the input is used up).
    pub fn pick(&mut self, n: usize) -> usize {
        pick(self.u, n)
    }

    /// `true` with probability about `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.pick(n) == 0
    }

    /// Appends `text` as is.
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// Optional white space.
    pub fn ws(&mut self) {
        if self.spacey {
            let ws = [" ", "", "\n  ", "\t", "\r\n", "    "];
            let at = self.pick(ws.len());
            self.out.push_str(ws[at]);
        }
    }

    /// A JSON string of `text`, each character possibly written as an escape.
    pub fn string(&mut self, text: &str) {
        // Most strings are written plainly (the reader's borrowed fast path); some escape
        // a few characters, some escape every character.
        let mode = self.pick(8);
        self.out.push('"');
        for c in text.chars() {
            let escape = match mode {
                0 => true,
                1 | 2 => self.one_in(4),
                _ => false,
            };
            let short = self.pick(2) == 0;
            write_char(&mut self.out, c, escape, short);
        }
        self.out.push('"');
    }

    /// A member's key and colon (with white space), after a `,` when not the first.
    pub fn key(&mut self, first: bool, key: &str) {
        if !first {
            self.out.push(',');
        }
        self.ws();
        self.string(key);
        self.ws();
        self.out.push(':');
        self.ws();
    }

    /// An arbitrary JSON value, nested at most `depth` levels.
    pub fn any(&mut self, depth: usize) {
        let kinds = if depth == 0 { 6 } else { 8 };
        match self.pick(kinds) {
            0 => self.raw("null"),
            1 => {
                let b = if self.one_in(2) { "true" } else { "false" };
                self.raw(b);
            }
            2 => {
                let n = number_text(self);
                self.raw(&n);
            }
            3 | 4 => {
                let s = text(self);
                self.string(&s);
            }
            5 => {
                // Texts the page splitter and the reader must not take for structure.
                let tricky = [
                    "]}",
                    "\"transactions\":[",
                    "{\"transactions\":[1]}",
                    "\\",
                    "[{",
                    "\",\"",
                ];
                let at = self.pick(tricky.len());
                self.string(tricky[at]);
            }
            6 => {
                self.raw("[");
                let n = self.pick(4);
                for i in 0..n {
                    if i > 0 {
                        self.raw(",");
                    }
                    self.ws();
                    self.any(depth - 1);
                    self.ws();
                }
                self.raw("]");
            }
            _ => {
                self.raw("{");
                let n = self.pick(4);
                for i in 0..n {
                    let keys = ["transactions", "id", "value", "x", "_links", "next", ""];
                    let at = self.pick(keys.len());
                    self.key(i == 0, keys[at]);
                    self.any(depth - 1);
                }
                self.ws();
                self.raw("}");
            }
        }
    }
}

/// A number in `0..n` from `u` (0 once the input is used up, or when `n` is 0).
pub fn pick(u: &mut Unstructured<'_>, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    u.choose_index(n).unwrap_or(0)
}

/// Writes `c` into a JSON string, as an escape when `escape` (or when JSON requires it);
/// `short` prefers the two-character escapes where one exists.
pub fn write_char(out: &mut String, c: char, escape: bool, short: bool) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' if short || !escape => out.push_str("\\n"),
        '\t' if short || !escape => out.push_str("\\t"),
        '\r' if short || !escape => out.push_str("\\r"),
        '/' if escape && short => out.push_str("\\/"),
        c if (c as u32) < 0x20 || escape => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                if short {
                    out.push_str(&format!("\\u{unit:04x}"));
                } else {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
        }
        c => out.push(c),
    }
}

/// A string value: Powens-like labels, edge texts, or characters from the input.
pub fn text(j: &mut Json<'_, '_>) -> String {
    let pool = [
        "",
        "CARTE X1234 HALL'S BEER",
        "PRLV SEPA EDF",
        "Léa \"Café\" 😀",
        "A,B:C",
        " ",
        "null",
        "\\",
        "]},[{",
        "VIR SEPA INSTANTANE RECU DE M JEAN DUPONT REF 0123456789 MOTIF LOYER JUIN",
        "\u{0}\u{1f}\u{7f}",
        "\u{2028}\u{feff}",
    ];
    let at = j.pick(pool.len() + 2);
    if at < pool.len() {
        return pool[at].to_owned();
    }
    let len = j.pick(40);
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        let c = match j.pick(5) {
            0 => char::from(b' ' + j.pick(95) as u8),
            1 => ['é', 'ü', 'ß', '€', '😀', '\u{10ffff}', '\u{800}'][j.pick(7)],
            2 => ['"', '\\', '/', '\n', '\u{0}', ']', '}', ','][j.pick(8)],
            _ => char::from(b'A' + j.pick(26) as u8),
        };
        s.push(c);
    }
    s
}

/// A JSON number in one of its many spellings.
pub fn number_text(j: &mut Json<'_, '_>) -> String {
    let sign = if j.one_in(3) { "-" } else { "" };
    let int = match j.pick(6) {
        0 => "0".to_owned(),
        1 => (1 + j.pick(9)).to_string(),
        2 => (j.pick(100_000)).to_string(),
        3 => "9223372036854775807".to_owned(),
        4 => "79228162514264337593543950335".to_owned(),
        _ => {
            let n = 1 + j.pick(40);
            let mut s = String::from("1");
            for _ in 1..n {
                s.push(char::from(b'0' + j.pick(10) as u8));
            }
            s
        }
    };
    let frac = match j.pick(5) {
        0 | 1 => String::new(),
        2 => format!(".{}", j.pick(100)),
        3 => ".5".to_owned(),
        _ => {
            let n = 1 + j.pick(32);
            let digits: String = (0..n)
                .map(|_| char::from(b'0' + j.pick(10) as u8))
                .collect();
            format!(".{digits}")
        }
    };
    let exp = match j.pick(8) {
        0 => format!("e{}", j.pick(5)),
        1 => format!("E-{}", j.pick(30)),
        2 => format!("e+{}", j.pick(3)),
        3 => "e400".to_owned(),
        4 => "E-400".to_owned(),
        _ => String::new(),
    };
    format!("{sign}{int}{frac}{exp}")
}

/// An integer field: usually an id, sometimes an edge or another type.
fn int_value(j: &mut Json<'_, '_>, usual: &dyn Fn(&mut Json<'_, '_>) -> String) {
    match j.pick(12) {
        0 => j.raw("null"),
        1 => {
            let edges = [
                "0",
                "-0",
                "-1",
                "9223372036854775807",
                "-9223372036854775808",
                "9223372036854775808",
                "1.0",
                "1e2",
                "123456789012345678",
                "1234567890123456789",
                "00",
            ];
            let at = j.pick(edges.len());
            j.raw(edges[at]);
        }
        2 => {
            let s = usual(j);
            j.string(&s);
        }
        3 if j.one_in(4) => j.any(2),
        _ => {
            let s = usual(j);
            j.raw(&s);
        }
    }
}

/// A date text: `YYYY-MM-DD` mostly, every edge sometimes.
pub fn date_text(j: &mut Json<'_, '_>) -> String {
    match j.pick(10) {
        0 => {
            let edges = [
                "",
                " ",
                "null",
                "2026-02-30",
                "2024-02-29",
                "2026-13-01",
                "0000-01-01",
                "9999-12-31",
                " 2026-06-18 ",
                "2026-6-18",
                "18/06/2026",
                "2026-06-18T00:00:00",
                "2026-06-18 06:12:44",
                "２０２６-06-18",
                "+2026-06-18",
                "2026-06-1\u{e9}",
            ];
            let at = j.pick(edges.len());
            edges[at].to_owned()
        }
        1 => {
            let d: String = (0..10)
                .map(|i| match i {
                    4 | 7 => '-',
                    _ => char::from(b'0' + j.pick(10) as u8),
                })
                .collect();
            d
        }
        _ => format!("2026-{:02}-{:02}", 1 + j.pick(12), 1 + j.pick(28)),
    }
}

/// A datetime text in one of the forms Powens sends or is reported to send.
pub fn datetime_text(j: &mut Json<'_, '_>) -> String {
    if j.one_in(8) {
        let edges = [
            "",
            "null",
            "2026-03-29 02:30:00",
            "2026-10-25 02:30:00",
            "2026-10-25 01:59:59",
            "2026-06-18 24:00:00",
            "2026-06-18 23:59:60",
            "2026-06-18 06:12",
            "2026-06-18T06:12:44.123456789123Z",
            "2026-06-18 06:12:44 +0200",
            "2026-06-18T06:12:44+14:00",
            "2026-06-18T06:12:44-23:59",
            "2026-06-18T06:12:44+2400",
            "9999-12-31 23:59:59-12:00",
            "0000-01-01 00:00:00+12:00",
            "2026-06-18 06:12:44Z ",
            "2026-06-18",
            "2026-06-18 6:12:44",
        ];
        let at = j.pick(edges.len());
        return edges[at].to_owned();
    }
    let date = if j.one_in(6) {
        date_text(j)
    } else {
        format!("2026-{:02}-{:02}", 1 + j.pick(12), 1 + j.pick(28))
    };
    let sep = ["T", " ", "t", "  "][j.pick(4).min(3) * usize::from(j.one_in(3))];
    let time = format!("{:02}:{:02}:{:02}", j.pick(25), j.pick(61), j.pick(62));
    let frac = match j.pick(6) {
        0 => format!(".{}", j.pick(1_000_000)),
        1 => ".000000".to_owned(),
        2 => ".1234567891".to_owned(),
        _ => String::new(),
    };
    let offset = match j.pick(8) {
        0 => "Z".to_owned(),
        1 => format!("+{:02}{:02}", j.pick(26), j.pick(61)),
        2 => format!("-{:02}:{:02}", j.pick(26), j.pick(61)),
        3 => " +0200".to_owned(),
        4 => "z".to_owned(),
        _ => String::new(),
    };
    format!("{date}{sep}{time}{frac}{offset}")
}

/// An amount: a JSON number in any form, or a string of one, or an edge.
pub fn amount_value(j: &mut Json<'_, '_>) {
    match j.pick(10) {
        0 => j.raw("null"),
        1 => {
            let s = number_text(j);
            let s = match j.pick(4) {
                0 => format!(" {s} "),
                1 => s.replace('.', ","),
                _ => s,
            };
            j.string(&s);
        }
        2 => {
            let edges = ["", " ", "NaN", "+1", "1,5", "12,50 EUR", "-", ".5", "5."];
            let at = j.pick(edges.len());
            j.string(edges[at]);
        }
        3 if j.one_in(3) => j.any(2),
        4 | 5 => {
            // Powens' usual form: at most two decimals.
            let sign = if j.one_in(2) { "-" } else { "" };
            let v = format!("{sign}{}.{:02}", j.pick(10_000), j.pick(100));
            j.raw(&v);
        }
        _ => {
            let s = number_text(j);
            j.raw(&s);
        }
    }
}

/// A string field, sometimes `null` or another type.
fn str_value(j: &mut Json<'_, '_>, pool: &[&str]) {
    match j.pick(14) {
        0 => j.raw("null"),
        1 if j.one_in(3) => j.any(2),
        2 | 3 => {
            let s = text(j);
            j.string(&s);
        }
        _ if pool.is_empty() => {
            let s = text(j);
            j.string(&s);
        }
        _ => {
            let at = j.pick(pool.len());
            j.string(pool[at]);
        }
    }
}

fn date_value(j: &mut Json<'_, '_>) {
    match j.pick(16) {
        0 => j.raw("null"),
        1 if j.one_in(3) => j.any(1),
        _ => {
            let s = date_text(j);
            j.string(&s);
        }
    }
}

fn datetime_value(j: &mut Json<'_, '_>) {
    match j.pick(16) {
        0 => j.raw("null"),
        1 if j.one_in(3) => j.any(1),
        _ => {
            let s = datetime_text(j);
            j.string(&s);
        }
    }
}

fn bool_value(j: &mut Json<'_, '_>) {
    match j.pick(16) {
        0 => j.raw("null"),
        1 => {
            let other = ["0", "1", "\"true\"", "\"\"", "[]", "tRue"];
            let at = j.pick(other.len() - 1);
            j.raw(other[at]);
        }
        _ => {
            let b = if j.one_in(2) { "true" } else { "false" };
            j.raw(b);
        }
    }
}

const TYPES: &[&str] = &[
    "card",
    "transfer",
    "order",
    "deferred_card",
    "summary_card",
    "card_summary",
    "check",
    "deposit",
    "payback",
    "withdrawal",
    "loan_payment",
    "loan_repayment",
    "bank",
    "unknown",
    "market_order",
    "refund",
    "payout",
    "payment",
    "fee",
    "",
    "CARD",
];

const CARDS: &[&str] = &[
    "XXXX1234",
    "4970XXXXXXXX1234",
    "5131XXXXXXXX0001",
    "2221XXXX",
    "37XXXXXXXXX1000",
    "6011XXXX",
    "35XX",
    "62XXXX",
    "36XXXX",
    "4",
    "",
    " 4970 XXXX ",
    "ＸＸＸＸ",
];

const IBANS: &[&str] = &[
    "FR76 3000 6000 0112 3456 7890 189",
    "FR7630006000011234567890189",
    "fr76-3000-6000-0112-3456-7890-189",
    "DE89370400440532013000",
    "GB29NWBK60161331926819",
    "",
    " ",
    "-",
    "Ä1",
];

const SCHEMES: &[&str] = &[
    "iban",
    "bban",
    "sort_code_account_number",
    "cpan",
    "tpan",
    "",
    "IBAN",
];

/// A `counterparty` value: usually an object, members in any order.
fn counterparty_value(j: &mut Json<'_, '_>) {
    match j.pick(10) {
        0 => j.raw("null"),
        1 if j.one_in(3) => j.any(2),
        _ => {
            let mut members: Vec<usize> = (0..5).collect();
            shuffle(j, &mut members);
            let keep = 1 + j.pick(5);
            j.raw("{");
            for (i, m) in members.iter().take(keep).enumerate() {
                match m {
                    0 => {
                        j.key(i == 0, "label");
                        str_value(j, &["ACME \"SAS\"", "M JEAN DUPONT"]);
                    }
                    1 => {
                        j.key(i == 0, "account_scheme_name");
                        str_value(j, SCHEMES);
                    }
                    2 => {
                        j.key(i == 0, "account_identification");
                        str_value(j, IBANS);
                    }
                    3 => {
                        j.key(i == 0, "type");
                        str_value(j, &["creditor", "debtor"]);
                    }
                    _ => {
                        j.key(i == 0, "extra");
                        j.any(2);
                    }
                }
            }
            j.ws();
            j.raw("}");
        }
    }
}

/// A `categories` value: usually a list of category objects.
fn categories_value(j: &mut Json<'_, '_>) {
    match j.pick(10) {
        0 => j.raw("null"),
        1 if j.one_in(3) => j.any(2),
        _ => {
            j.raw("[");
            let n = j.pick(4);
            for i in 0..n {
                if i > 0 {
                    j.raw(",");
                }
                j.ws();
                if j.one_in(12) {
                    j.any(1);
                    continue;
                }
                j.raw("{");
                let mut first = true;
                if !j.one_in(5) {
                    j.key(first, "code");
                    str_value(j, &["food", "other", "transport"]);
                    first = false;
                }
                if j.one_in(2) {
                    j.key(first, "parent_code");
                    str_value(j, &["food", "other"]);
                    first = false;
                }
                if j.one_in(3) {
                    j.key(first, "id");
                    j.raw("12");
                }
                j.raw("}");
            }
            j.raw("]");
        }
    }
}

/// Shuffles `items` with the input's choices.
pub fn shuffle<T>(j: &mut Json<'_, '_>, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let k = j.pick(i + 1);
        items.swap(i, k);
    }
}

/// The members a transaction row may have: every `Transaction` field, a few unknown ones.
const ROW_KEYS: &[&str] = &[
    "id",
    "id_account",
    "date",
    "value",
    "type",
    "coming",
    "datetime",
    "deleted",
    "last_update",
    "wording",
    "original_wording",
    "simplified_wording",
    "id_category",
    "categories",
    "card",
    "counterparty",
    "webid",
    "application_date",
    "vdate",
    "vdatetime",
    "rdate",
    "rdatetime",
    "bdate",
    "bdatetime",
    "gross_value",
    "stemmed_wording",
    "date_scraped",
    "active",
    "id_cluster",
    "comment",
    "original_value",
    "original_gross_value",
    "original_currency",
    "commission",
    "commission_currency",
    "country",
    "formatted_value",
    "state",
    "documents_count",
    "information",
    "details",
    "attachments",
    "extra",
    "transactions",
    "_links",
];

/// Writes one member value of a transaction row.
fn row_value(j: &mut Json<'_, '_>, key: &str, id: u32, account: i64) {
    match key {
        "id" => int_value(j, &|_| id.to_string()),
        "id_account" => int_value(j, &|j| {
            if j.one_in(8) {
                "99".to_owned()
            } else {
                account.to_string()
            }
        }),
        "id_category" | "id_cluster" | "documents_count" => {
            int_value(j, &|j| j.pick(1000).to_string())
        }
        "date" | "application_date" | "vdate" | "rdate" | "bdate" => date_value(j),
        "datetime" | "deleted" | "last_update" | "vdatetime" | "rdatetime" | "bdatetime"
        | "date_scraped" => {
            // `deleted` is usually null: a deleted row is a tombstone.
            if key == "deleted" && !j.one_in(3) {
                j.raw("null");
            } else {
                datetime_value(j);
            }
        }
        "value" | "gross_value" | "original_value" | "original_gross_value" | "commission" => {
            amount_value(j)
        }
        "type" => str_value(j, TYPES),
        "coming" | "active" => bool_value(j),
        "card" => str_value(j, CARDS),
        "categories" => categories_value(j),
        "counterparty" => counterparty_value(j),
        "original_currency" | "commission_currency" => {
            if j.one_in(2) {
                j.raw("null");
            } else {
                j.raw(r#"{"id":"USD","symbol":"$","precision":2}"#);
            }
        }
        "information" | "details" | "extra" | "transactions" | "_links" => j.any(3),
        "attachments" => {
            if j.one_in(2) {
                j.raw("null");
            } else {
                j.raw("[");
                j.any(2);
                j.raw("]");
            }
        }
        _ => str_value(j, &[]),
    }
}

/// A transaction row: the members Powens sends (required ones usually present), in Powens'
/// order or any other, with values in every form.
pub fn row(j: &mut Json<'_, '_>, id: u32) {
    if j.one_in(40) {
        // Not an object at all.
        j.any(2);
        return;
    }
    let account = BOOK[j.pick(BOOK.len())].0;
    let mut keys: Vec<&str> = Vec::new();
    for (i, key) in ROW_KEYS.iter().enumerate() {
        // The six required members almost always, the others half of the time.
        let keep = if i < 6 { !j.one_in(20) } else { j.one_in(2) };
        if keep {
            keys.push(key);
        }
    }
    if j.one_in(4) {
        shuffle(j, &mut keys);
    }
    if j.one_in(30) {
        // A repeated member (the reader keeps the last, like serde_json::Value).
        if let Some(key) = keys.first().copied() {
            keys.push(key);
        }
    }
    j.raw("{");
    for (i, key) in keys.iter().enumerate() {
        j.key(i == 0, key);
        row_value(j, key, id, account);
    }
    j.ws();
    j.raw("}");
}

/// The rows of a page, as a JSON array (sometimes `null` or another value).
pub fn rows(j: &mut Json<'_, '_>, max: usize) {
    if j.one_in(30) {
        j.any(1);
        return;
    }
    j.raw("[");
    let n = j.pick(max + 1);
    for i in 0..n {
        if i > 0 {
            j.ws();
            j.raw(",");
        }
        j.ws();
        // Ids repeat now and then (same id twice: maturation and memo paths).
        let id = if j.one_in(6) { 1 } else { 300 + i as u32 };
        row(j, id);
    }
    j.ws();
    j.raw("]");
}

/// A whole transactions page: `transactions` and `_links` usually, the envelope's other
/// members sometimes, in any order; now and then a key spelled with escapes or repeated.
pub fn page(u: &mut Unstructured<'_>) -> Vec<u8> {
    let mut j = Json::new(u);
    let mut members: Vec<usize> = (0..8).collect();
    shuffle(&mut j, &mut members);
    let keep = 2 + j.pick(7);
    let mut chosen: Vec<usize> = members.iter().copied().take(keep).collect();
    if !chosen.contains(&0) && !j.one_in(10) {
        chosen.push(0);
    }
    j.ws();
    j.raw("{");
    for (i, m) in chosen.iter().enumerate() {
        match m {
            0 => {
                j.key(i == 0, "transactions");
                rows(&mut j, 12);
            }
            1 => {
                let dates = [
                    "first_date",
                    "last_date",
                    "result_min_date",
                    "result_max_date",
                ];
                let at = j.pick(dates.len());
                j.key(i == 0, dates[at]);
                date_value(&mut j);
            }
            2 => {
                j.key(i == 0, "total");
                int_value(&mut j, &|j| j.pick(5000).to_string());
            }
            3 => {
                j.key(i == 0, "_links");
                links_value(&mut j);
            }
            4 => {
                // A second `transactions` member, plain or spelled with an escape.
                if j.one_in(2) {
                    if i > 0 {
                        j.raw(",");
                    }
                    j.raw("\"\\u0074ransactions\":");
                } else {
                    j.key(i == 0, "transactions");
                }
                rows(&mut j, 3);
            }
            _ => {
                let keys = ["notes", "transactions_total", "transaction", "x"];
                let at = j.pick(keys.len());
                j.key(i == 0, keys[at]);
                j.any(3);
            }
        }
    }
    j.ws();
    j.raw("}");
    j.ws();
    j.out.into_bytes()
}

/// A `_links` value.
fn links_value(j: &mut Json<'_, '_>) {
    match j.pick(8) {
        0 => j.raw("null"),
        1 => j.raw("{}"),
        2 if j.one_in(2) => j.any(2),
        _ => {
            j.raw("{");
            let mut first = true;
            if j.one_in(2) {
                j.key(first, "self");
                j.raw(r#"{"href":"/2.0/users/me/transactions"}"#);
                first = false;
            }
            j.key(first, "next");
            match j.pick(5) {
                0 => j.raw("null"),
                1 => j.any(2),
                _ => {
                    j.raw("{");
                    j.key(true, "href");
                    let hrefs = [
                        "/2.0/users/me/transactions?offset=1000&limit=1000",
                        "",
                        "https://acme.biapi.pro/2.0/users/me/transactions?offset=2",
                        "users/me/transactions?offset=3",
                    ];
                    let at = j.pick(hrefs.len() + 1);
                    if at < hrefs.len() {
                        j.string(hrefs[at]);
                    } else {
                        str_value(j, &[]);
                    }
                    j.raw("}");
                }
            }
            j.raw("}");
        }
    }
}

/// A Powens bank account object of the book (for webhook bodies), its transactions inline.
pub fn account(j: &mut Json<'_, '_>, first: bool, id_connection: i64) {
    let (id, code, precision) = BOOK[j.pick(BOOK.len())];
    if !first {
        j.raw(",");
    }
    j.ws();
    if j.one_in(40) {
        j.any(2);
        return;
    }
    j.raw("{");
    j.key(true, "id");
    j.raw(&id.to_string());
    let mut members: Vec<usize> = (0..9).collect();
    shuffle(j, &mut members);
    let keep = j.pick(10);
    for m in members.into_iter().take(keep) {
        match m {
            0 => {
                j.key(false, "id_connection");
                j.raw(&id_connection.to_string());
            }
            1 => {
                j.key(false, "original_name");
                str_value(j, &["Compte chèque", "Livret A"]);
            }
            2 => {
                j.key(false, "balance");
                amount_value(j);
            }
            3 => {
                j.key(false, "coming");
                amount_value(j);
            }
            4 => {
                j.key(false, "currency");
                if j.one_in(8) {
                    j.any(1);
                } else {
                    j.raw(&format!(r#"{{"id":"{code}","precision":{precision}}}"#));
                }
            }
            5 => {
                j.key(false, "last_update");
                datetime_value(j);
            }
            6 => {
                j.key(false, "type");
                str_value(j, &["checking", "savings", "card", "loan"]);
            }
            7 => {
                let key = if j.one_in(2) { "disabled" } else { "deleted" };
                j.key(false, key);
                datetime_value(j);
            }
            _ => {
                j.key(false, "iban");
                str_value(j, IBANS);
            }
        }
    }
    j.key(false, "transactions");
    rows_for_webhook(j);
    j.ws();
    j.raw("}");
}

/// A webhook's rows: a JSON array of rows (their accounts are the book's).
fn rows_for_webhook(j: &mut Json<'_, '_>) {
    if j.one_in(20) {
        j.any(1);
        return;
    }
    j.raw("[");
    let n = j.pick(8);
    for i in 0..n {
        if i > 0 {
            j.raw(",");
        }
        j.ws();
        let id = 300 + j.pick(6) as u32;
        row(j, id);
    }
    j.raw("]");
}

/// A connection object with its accounts.
pub fn connection(j: &mut Json<'_, '_>) {
    let id = 7 + j.pick(3) as i64;
    j.raw("{");
    j.key(true, "id");
    j.raw(&id.to_string());
    if j.one_in(2) {
        j.key(false, "id_user");
        j.raw("42");
    }
    j.key(false, "state");
    let states = [
        "null",
        "\"SCARequired\"",
        "\"wrongpass\"",
        "\"websiteUnavailable\"",
        "\"bug\"",
        "\"validating\"",
        "\"notSupported\"",
        "\"decoupled\"",
        "\"somethingNew\"",
        "1",
    ];
    let at = j.pick(states.len());
    j.raw(states[at]);
    if j.one_in(2) {
        j.key(false, "error_message");
        str_value(j, &["Le site est indisponible"]);
    }
    if j.one_in(2) {
        j.key(false, "last_update");
        datetime_value(j);
    }
    if j.one_in(2) {
        j.key(false, "expire");
        datetime_value(j);
    }
    if !j.one_in(10) {
        j.key(false, "accounts");
        j.raw("[");
        let n = j.pick(4);
        for i in 0..n {
            account(j, i == 0, id);
        }
        j.raw("]");
    }
    j.ws();
    j.raw("}");
}

/// A webhook body for `event` (a name of `connector_powens::webhooks::WEBHOOK_ROUTES`).
pub fn webhook_body(u: &mut Unstructured<'_>, event: &str) -> Vec<u8> {
    let mut j = Json::new(u);
    let id_webhook_data = |j: &mut Json<'_, '_>| {
        if j.one_in(2) {
            j.key(false, "id_webhook_data");
            int_value(j, &|j| (90_000 + j.pick(10)).to_string());
        }
    };
    match event {
        "CONNECTION_SYNCED" | "ACCOUNTS_FETCHED" => {
            j.raw("{");
            j.key(true, "user");
            j.raw(r#"{"id":42}"#);
            j.key(false, "connection");
            connection(&mut j);
            id_webhook_data(&mut j);
            j.raw("}");
        }
        "USER_SYNCED" => {
            j.raw("{");
            j.key(true, "user");
            j.raw(r#"{"id":42}"#);
            j.key(false, "connections");
            j.raw("[");
            let n = j.pick(3);
            for i in 0..n {
                if i > 0 {
                    j.raw(",");
                }
                connection(&mut j);
            }
            j.raw("]");
            id_webhook_data(&mut j);
            j.raw("}");
        }
        "ACCOUNT_SYNCED" => {
            let mut inner = Json::new(&mut *j.u);
            account(&mut inner, true, 7);
            let text = inner.out;
            // `id_user` and `id_webhook_data` inside the account object.
            let text = text.replacen('{', r#"{"id_user":42,"id_webhook_data":90001,"#, 1);
            j.raw(&text);
        }
        "USER_DELETED" => {
            j.raw(r#"{"id":42,"signin":"2026-06-18 08:00:00""#);
            id_webhook_data(&mut j);
            j.raw("}");
        }
        "CONNECTION_DELETED" => connection(&mut j),
        _ => {
            // CONNECTION_PENDING_DISCONNECT: the wrapper or a bare connection.
            if j.one_in(2) {
                connection(&mut j);
            } else {
                j.raw("{");
                j.key(true, "user");
                j.raw(r#"{"id":42}"#);
                j.key(false, "connection");
                connection(&mut j);
                j.key(false, "expire");
                datetime_value(&mut j);
                id_webhook_data(&mut j);
                j.raw("}");
            }
        }
    }
    j.out.into_bytes()
}
