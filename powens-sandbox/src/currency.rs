//! The currencies the sandbox knows, as Powens publishes them on `GET /2.0/currencies` and inside
//! every account. Besides the usual ISO ones, `XBT` is a code ISO 4217 does not know but Powens
//! publishes with a precision (8), and `GEMS` is a made-up code with `precision: null`, so a
//! client must skip its records with a typed reason.

use crate::json::JsonWriter;

/// One currency of the sandbox.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Currency {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) symbol: &'static str,
    pub(crate) prefix: bool,
    pub(crate) crypto: bool,
    /// The precision Powens publishes (`None` = `precision: null` on the wire).
    pub(crate) precision: Option<u32>,
    /// The number of decimals the sandbox generates amounts with.
    pub(crate) scale: u32,
    /// Typical size of a generated amount, in major units.
    pub(crate) magnitude: i64,
}

/// Index of EUR in [`CURRENCIES`].
pub(crate) const EUR: usize = 0;

/// Every currency of the sandbox; account currencies are indexes into this table.
pub(crate) const CURRENCIES: &[Currency] = &[
    cur("EUR", "Euro", "€", false, false, Some(2), 2, 200),
    cur("GBP", "Pound sterling", "£", true, false, Some(2), 2, 150),
    cur("JPY", "Japanese yen", "¥", true, false, Some(0), 0, 20_000),
    cur("KWD", "Kuwaiti dinar", "KD", false, false, Some(3), 3, 60),
    cur("XBT", "Bitcoin", "Ƀ", false, true, Some(8), 8, 0),
    cur("GEMS", "Sandbox gems", "♦", false, false, None, 2, 50),
    cur("USD", "US dollar", "$", true, false, Some(2), 2, 200),
    cur("CHF", "Swiss franc", "CHF", false, false, Some(2), 2, 180),
];

/// Currencies of accounts after the first of each connection, in order.
pub(crate) const ACCOUNT_CURRENCY_CYCLE: &[usize] = &[1, 2, 3, 4, 5, 0];

#[allow(clippy::too_many_arguments)]
const fn cur(
    id: &'static str,
    name: &'static str,
    symbol: &'static str,
    prefix: bool,
    crypto: bool,
    precision: Option<u32>,
    scale: u32,
    magnitude: i64,
) -> Currency {
    Currency {
        id,
        name,
        symbol,
        prefix,
        crypto,
        precision,
        scale,
        magnitude,
    }
}

/// The currency at `index` (EUR when out of range, which cannot happen for generated data).
pub(crate) fn currency(index: usize) -> &'static Currency {
    CURRENCIES.get(index).unwrap_or(&CURRENCIES[EUR])
}

/// Writes the Powens `Currency` object.
pub(crate) fn write_currency(w: &mut JsonWriter, c: &Currency) {
    w.begin_object();
    w.key("id");
    w.string(c.id);
    w.key("symbol");
    w.string(c.symbol);
    w.key("prefix");
    w.bool(c.prefix);
    w.key("crypto");
    w.bool(c.crypto);
    w.key("precision");
    match c.precision {
        Some(p) => w.u64(u64::from(p)),
        None => w.null(),
    }
    w.key("marketcap");
    w.null();
    w.key("datetime");
    w.null();
    w.key("name");
    w.string(c.name);
    w.end_object();
}
