/*
 * node/synth.h - the built-in synthetic cohort: the demo consortium's data
 * dictionary and a generator of realistic, correlated fake patients.
 *
 * Used by the demo network, the end-to-end test (tests/e2e/e2e.py) and the
 * benchmarks, so that every run of every site is reproducible: the output
 * is a pure function of (site, seed, rows, missing_rate). Nothing here is
 * real patient data and nothing here is secret; the generator therefore
 * uses the deterministic test generator of crypto/rng.h (ChaCha20 keyed by
 * a hash of site and seed), never the system CSPRNG.
 */
#ifndef MCN_NODE_SYNTH_H
#define MCN_NODE_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/err.h"

/* Sanity cap on rows (the CLI refuses more). */
#define MCN_SYNTH_MAX_ROWS 1000000000ull

/*
 * The demo consortium data dictionary (node/dict.h format): table
 * "patients" with the twelve columns the generator writes, in this order:
 * age, sex, bmi, sbp, hba1c, ldl, smoker, diabetes, diagnosis, admitted,
 * followup_days, death. age, sex and admitted are required; every other
 * column may be missing. A static NUL-terminated JSON string; never NULL.
 * Thread-safe.
 */
const char *mcn_synth_dictionary_json(void);

/*
 * Writes `rows` synthetic patients of site number `site` (1-based, >= 1) as
 * CSV to out: a header line with the dictionary's column names, then one
 * line per patient, LF line ends, no quoting (no value needs it), missing
 * values as empty fields. Every value is valid for the demo dictionary
 * (ranges, levels, decimals). Non-required columns are independently
 * missing with probability missing_rate (0..1).
 *
 * The cohort is correlated the way a clinician would expect (age drives
 * blood pressure, comorbidity and mortality; bmi drives type-2 diabetes;
 * diabetes drives HbA1c and E10/E11 diagnoses; smoking drives lung cancer
 * and COPD; death and followup_days come from a hazard model with
 * administrative censoring at 2025-12-31), and each site has its own case
 * mix (age, sex ratio, bmi, smoking, diabetes and diagnosis weights), so
 * pooled and per-site statistics differ.
 *
 * Deterministic: the same (site, seed, missing_rate) gives the same bytes,
 * and the first k patients do not depend on `rows` (a shorter file is a
 * prefix of a longer one); the patients' values do not depend on
 * missing_rate (only which fields are blanked). Floating point goes through
 * libm (log, exp, cos), so bit-identical output is guaranteed on one
 * platform and libm, not across all of them.
 *
 * Returns MCN_EINVAL for site 0 or a missing_rate outside [0, 1] (message
 * in err), MCN_ENOMEM / MCN_ECRYPTO if the generator cannot be created,
 * MCN_ESYS|errno if writing fails. On error, part of the file may have been
 * written. out stays open (flushed) and owned by the caller. Thread-safe
 * (no shared state).
 */
mcn_err mcn_synth_write(FILE *out, unsigned site, uint64_t rows, uint64_t seed,
    double missing_rate, char *err, size_t errlen) MCN_WUR;

#endif
