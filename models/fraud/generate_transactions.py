#!/usr/bin/python3
"""Synthetic card transactions with a plausible fraud mechanism, reproducible from a seed.

    generate_transactions.py --rows N --out FILE [--seed S] [--label]

Writes a CSV with a header (FILE "-" is stdout, a name ending in .gz is gzip-compressed). Rows are
made in fixed chunks of 250,000, each from its own generator seeded with (seed, chunk index), and
streamed out as they are made: memory stays flat and 10 million rows take well under a minute.
--label adds the ground truth column is_fraud (0/1). The same seed gives the same bytes.

Columns (empty cell = missing):
  transaction_id          1, 2, 3, ...
  amount                  in dollars, 2 decimals: a lognormal around the merchant category's
                          typical ticket, scaled by the customer's spending level
  merchant_category       one of MERCHANT_CATEGORIES
  hour                    0..23, local time, following a day-shaped profile
  distance_from_home_km   distance between the cardholder's home and the merchant (or the
                          buyer's IP location online); missing for half the online purchases
  card_present            true/false: chip or swipe at a terminal
  online                  true/false: e-commerce; the share depends on the category
  transactions_last_24h   the card's transactions in the previous 24 hours
  avg_amount_30d          the card's mean ticket over 30 days; missing for accounts under 30 days
  card_type               debit, credit or prepaid
  account_age_days        days since the account was opened
  foreign_transaction     true/false: the merchant is outside the card's country
  is_fraud                with --label only

The fraud mechanism (what a card-fraud analyst would recognise). Each transaction gets a risk
score on the logit scale:
  -6.6
  + 1.0 * log(amount / the customer's true 30-day average)   spending out of pattern
  + 1.3 if 0 <= hour <= 5                                     night-time use
  + 0.9 if online, + 0.8 if keyed (neither present nor online)  card-not-present fraud
  + 0.35 * log(1 + true distance / 20 km)                     far from home
  + 1.4 if foreign
  + a per-category effect (jewelry and electronics resell well: high; grocery, pharmacy: low)
  + 0.9 for prepaid cards, 0.25 for credit cards
  + 0.9 if the account is younger than 30 days (new-account fraud)
  + Normal(0, 0.8) for everything the table does not show (compromised-card lists, device ...)
and is fraud with probability sigmoid(score). Stolen cards get tested in bursts, so 60% of the
fraudulent transactions add Poisson(2.5) to transactions_last_24h. Noise the model cannot see
through: the risk uses the true distance and average (the table hides some of them), and 0.1% of
the legitimate transactions are labelled fraud anyway (false chargebacks). About 2% of the rows
are fraud.
"""
import argparse
import gzip
import sys

import numpy as np

CHUNK = 250_000
MERCHANT_CATEGORIES = ["grocery", "restaurant", "gas", "pharmacy", "clothing", "electronics",
                       "travel", "entertainment", "online_services", "jewelry"]
CATEGORY_SHARE = np.array([.24, .17, .12, .06, .09, .06, .05, .08, .10, .03])
TYPICAL_TICKET = np.array([45, 30, 40, 22, 65, 220, 380, 45, 18, 350], dtype=np.float64)
ONLINE_SHARE = np.array([.04, .08, 0, .10, .35, .45, .60, .30, .95, .25])
CATEGORY_RISK = np.array([-0.6, -0.3, 0.2, -0.4, 0.1, 0.9, 0.6, 0.2, 0.7, 1.2])
CARD_TYPES = ["debit", "credit", "prepaid"]
CARD_SHARE = np.array([.55, .38, .07])
CARD_RISK = np.array([0.0, 0.25, 0.9])
# Share of transactions per local hour: quiet at night, peaks at lunch and early evening.
HOURLY = np.array([8, 5, 3, 2, 2, 3, 8, 18, 32, 40, 46, 55, 64, 56, 48, 46, 50, 60, 66, 60, 48,
                   36, 24, 14], dtype=np.float64)
HOURLY /= HOURLY.sum()
COLUMNS = ["transaction_id", "amount", "merchant_category", "hour", "distance_from_home_km",
           "card_present", "online", "transactions_last_24h", "avg_amount_30d", "card_type",
           "account_age_days", "foreign_transaction"]


def generate_chunk(seed, index, n, first_id):
    """n transactions as column arrays (NaN = missing) plus is_fraud; chunk `index` of `seed`."""
    rng = np.random.default_rng([seed, index])
    cat = rng.choice(len(MERCHANT_CATEGORIES), n, p=CATEGORY_SHARE)
    card = rng.choice(len(CARD_TYPES), n, p=CARD_SHARE)
    age = np.clip(np.ceil(rng.gamma(1.5, 500.0, n)), 1, 9000).astype(np.int64)
    avg_true = rng.lognormal(np.log(48.0), 0.55, n)
    online = rng.random(n) < ONLINE_SHARE[cat]
    card_present = ~online & (rng.random(n) > 0.03)
    keyed = ~online & ~card_present
    hour = rng.choice(24, n, p=HOURLY)
    amount = np.maximum(0.5, TYPICAL_TICKET[cat] * (avg_true / 48.0) ** 0.6 *
                        rng.lognormal(0.0, 0.75, n))
    amount = np.round(amount, 2)
    foreign = rng.random(n) < 0.025
    distance_true = np.where(card_present, rng.lognormal(np.log(6.0), 1.1, n),
                             rng.lognormal(np.log(25.0), 1.4, n))
    distance_true += np.where(foreign, rng.uniform(300.0, 9000.0, n), 0.0)
    tx24 = rng.poisson(1.8, n)

    risk = (-6.6 + np.clip(np.log(amount / avg_true), -2.0, 4.0) + 1.3 * (hour <= 5)
            + 0.9 * online + 0.8 * keyed + 0.35 * np.log1p(distance_true / 20.0) + 1.4 * foreign
            + CATEGORY_RISK[cat] + CARD_RISK[card] + 0.9 * (age < 30)
            + rng.normal(0.0, 0.8, n))
    fraud = rng.random(n) < 1.0 / (1.0 + np.exp(-risk))
    burst = fraud & (rng.random(n) < 0.6)
    tx24 = tx24 + np.where(burst, rng.poisson(2.5, n), 0)
    fraud |= rng.random(n) < 0.001  # false chargebacks

    distance = np.round(distance_true, 1)
    distance[online & (rng.random(n) < 0.5)] = np.nan
    avg = np.round(avg_true, 2)
    avg[age < 30] = np.nan
    return {
        "transaction_id": np.arange(first_id, first_id + n, dtype=np.int64),
        "amount": amount,
        "merchant_category": np.asarray(MERCHANT_CATEGORIES)[cat],
        "hour": hour.astype(np.int64),
        "distance_from_home_km": distance,
        "card_present": card_present,
        "online": online,
        "transactions_last_24h": tx24.astype(np.int64),
        "avg_amount_30d": avg,
        "card_type": np.asarray(CARD_TYPES)[card],
        "account_age_days": age,
        "foreign_transaction": foreign,
        "is_fraud": fraud.astype(np.int64),
        # The categories as codes, so csv_bytes can look their text up instead of converting.
        "_codes": {"merchant_category": (cat, MERCHANT_CATEGORIES), "card_type": (card, CARD_TYPES)},
    }


def generate(rows, seed):
    """Yields column dicts of up to CHUNK rows; the same (rows, seed) always gives the same rows."""
    for index, start in enumerate(range(0, rows, CHUNK)):
        yield generate_chunk(seed, index, min(CHUNK, rows - start), start + 1)


def generate_frame(rows, seed):
    """All rows as one pandas DataFrame (for training and tests; keep `rows` modest)."""
    import pandas as pd
    frames = [pd.DataFrame({k: v for k, v in c.items() if k != "_codes"}) for c in generate(rows, seed)]
    return pd.concat(frames, ignore_index=True)


def _digits(v, decimals):
    """Non-negative int64 v as fixed-point ASCII (v / 10**decimals), [n, width] uint8, no padding
    on the left (leading zeros become 0 bytes, which csv_bytes drops)."""
    top = int(v.max()) if len(v) else 0
    k = max(len(str(top)), decimals + 1)
    pow10 = 10 ** np.arange(k - 1, -1, -1, dtype=np.int64)
    d = (v[:, None] // pow10) % 10
    keep = (v[:, None] >= pow10) | (np.arange(k) >= k - 1 - decimals)  # no leading zeros
    out = np.where(keep, d + ord("0"), 0).astype(np.uint8)
    if decimals:
        dot = np.full((len(v), 1), ord("."), dtype=np.uint8)
        out = np.concatenate([out[:, :k - decimals], dot, out[:, k - decimals:]], axis=1)
    return out


def _cells(values, decimals=0):
    """One column as a [n, width] uint8 matrix of right-zero-padded ASCII cells ('' = missing).
    Numbers are written with vectorised digit arithmetic: numpy's own number-to-text conversion
    is per element and would dominate the run time."""
    v = np.asarray(values)
    if v.dtype == np.bool_:
        table = np.array([b"false", b"true"], dtype="S5").view(np.uint8).reshape(2, 5)
        return table[v.astype(np.intp)]
    if v.dtype.kind == "f":
        missing = np.isnan(v)
        scaled = np.round(np.where(missing, 0.0, v) * 10.0 ** decimals).astype(np.int64)
        out = _digits(scaled, decimals)
        out[missing] = 0
        return out
    if v.dtype.kind in "iu":
        return _digits(v.astype(np.int64), 0)
    s = v.astype("S")
    return s.view(np.uint8).reshape(len(v), -1)


DECIMALS = {"amount": 2, "distance_from_home_km": 1, "avg_amount_30d": 2}


def csv_bytes(chunk, columns):
    """The chunk's rows as CSV: cells padded into one byte matrix, then the padding dropped."""
    n = len(chunk[columns[0]])
    comma = np.full((n, 1), ord(","), dtype=np.uint8)
    parts = []
    for i, name in enumerate(columns):
        if i:
            parts.append(comma)
        if name in chunk.get("_codes", {}):
            codes, names = chunk["_codes"][name]
            table = np.array([t.encode() for t in names])
            parts.append(table.view(np.uint8).reshape(len(names), -1)[codes])
        else:
            parts.append(_cells(chunk[name], DECIMALS.get(name, 0)))
    parts.append(np.full((n, 1), ord("\n"), dtype=np.uint8))
    m = np.concatenate(parts, axis=1)
    return m[m != 0].tobytes()


def write_csv(out, rows, seed, label=False):
    columns = COLUMNS + (["is_fraud"] if label else [])
    out.write((",".join(columns) + "\n").encode())
    for chunk in generate(rows, seed):
        out.write(csv_bytes(chunk, columns))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", required=True, help='CSV file ("-": stdout; .gz: gzip)')
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--label", action="store_true", help="add the is_fraud column")
    a = ap.parse_args()
    if a.rows < 0:
        ap.error("--rows must be >= 0")
    if a.out == "-":
        write_csv(sys.stdout.buffer, a.rows, a.seed, a.label)
    elif a.out.endswith(".gz"):
        with gzip.open(a.out, "wb", compresslevel=3) as f:
            write_csv(f, a.rows, a.seed, a.label)
    else:
        with open(a.out, "wb", buffering=1 << 20) as f:
            write_csv(f, a.rows, a.seed, a.label)


if __name__ == "__main__":
    main()
