/*
 * node/synth.h - the built-in synthetic cohort: the demo consortium's data
 * dictionary and a generator of realistic, correlated fake patients.
 *
 * Used by the demo network, the end-to-end test (tests/e2e/e2e.py) and the
 * benchmarks, so that every run of every site is reproducible: the output
 * is a pure function of (site, rows, options). Nothing here is
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
 * Generator options. Defaults (mcn_synth_opts_default): seed 1,
 * missing_rate 0.05, opt_out 0.02, overlap 0.05.
 *   seed          any 64-bit value
 *   missing_rate  0..1: probability that an optional field is empty
 *   opt_out       0..1: probability that consent is "no"
 *   overlap       0..1: share of each site's rows that are patients of the
 *                 global pool, who appear at every site with the same
 *                 patient_id, age and sex (see mcn_synth_write)
 */
typedef struct mcn_synth_opts {
	uint64_t seed;
	double missing_rate;
	double opt_out;
	double overlap;
} mcn_synth_opts;

void mcn_synth_opts_default(mcn_synth_opts *o);

/*
 * The demo consortium data dictionary (node/dict.h format): table
 * "patients" with the twenty columns the generator writes, in this order:
 * age, sex, bmi, sbp, hba1c, ldl, smoker, diabetes, diagnosis, admitted,
 * followup_days, death (the original twelve), then hospital_type, egfr,
 * arm, outcome, surv_days, surv_event, consent, patient_id. age, sex,
 * admitted, hospital_type, arm, consent and patient_id are required; every
 * other column may be missing. consent is the dictionary's consent column
 * ("consent": true): nodes leave patients without "yes" out of every
 * computation. A static NUL-terminated JSON string; never NULL.
 * Thread-safe.
 */
const char *mcn_synth_dictionary_json(void);

/*
 * Hospital type of site k: (k mod 3) == 1 tertiary (university / referral
 * centre), 2 secondary (general hospital), 0 primary care. The type is the
 * value of the hospital_type column of every row of the site. It shifts the
 * new columns only (the original twelve keep their per-site profiles, which
 * already differ in age and sex mix): eGFR (tertiary -5, primary +3 mL/min
 * on the mean: referral of kidney disease) and the yearly rate of loss to
 * follow-up of the survival columns (MCN_SYNTH_LOSS_*).
 */
typedef enum {
	MCN_SYNTH_TERTIARY = 0,
	MCN_SYNTH_SECONDARY = 1,
	MCN_SYNTH_PRIMARY = 2
} mcn_synth_hospital;

mcn_synth_hospital mcn_synth_hospital_type(unsigned site);
/* "tertiary", "secondary", "primary". */
const char *mcn_synth_hospital_name(mcn_synth_hospital t);

/*
 * The true model of `outcome` (0/1): P(outcome = 1) = 1 / (1 + exp(-eta)),
 * eta = intercept + sum of coef * x over the terms below, where x is the
 * value as written to the CSV (age in years, bmi kg/m2, sbp mmHg, hba1c %,
 * egfr mL/min/1.73m2, with their decimals) and the categorical terms are
 * 0/1 indicators against the first declared level (sex=M vs F, smoker
 * former/current vs never, diabetes type1/type2 vs no, arm treatment vs
 * control): exactly the parameterisation of the query language's
 * logistic(outcome ~ age + sex + bmi + sbp + hba1c + egfr + smoker +
 * diabetes + arm), whose 11 predictor terms after expansion and intercept
 * come in the same order as this table. Missing fields are blanked after
 * the outcome is drawn (missing completely at random), so complete-case
 * estimates are unbiased.
 */
#define MCN_SYNTH_OUTCOME_TERMS 12 /* intercept + 11 predictor terms */
typedef struct mcn_synth_coef {
	const char *name; /* "(intercept)", "age", "sex=M", ... */
	double value;
} mcn_synth_coef;

/* The MCN_SYNTH_OUTCOME_TERMS true coefficients, intercept first. */
const mcn_synth_coef *mcn_synth_outcome_truth(void);

/*
 * The true survival model of surv_days / surv_event: event time T Weibull
 * with shape MCN_SYNTH_WEIBULL_SHAPE and scale MCN_SYNTH_WEIBULL_SCALE days
 * in the control arm, S(t) = exp(-(t / scale)^shape), and proportional
 * hazards with hazard ratio MCN_SYNTH_HR_TREATMENT in the treatment arm,
 * S(t) = exp(-HR (t / scale)^shape); nothing else enters. Censoring:
 * administrative at MCN_SYNTH_ADMIN_DAYS and loss to follow-up
 * exponential with a yearly rate by hospital type, independent of T.
 * surv_days = floor(min(T, C, 3650)), surv_event = 1 iff T <= min(C, 3650).
 */
#define MCN_SYNTH_WEIBULL_SHAPE 1.3
#define MCN_SYNTH_WEIBULL_SCALE 5000.0
#define MCN_SYNTH_HR_TREATMENT 0.75
#define MCN_SYNTH_ADMIN_DAYS 3650
#define MCN_SYNTH_LOSS_TERTIARY 0.05 /* per year */
#define MCN_SYNTH_LOSS_SECONDARY 0.03
#define MCN_SYNTH_LOSS_PRIMARY 0.02

/*
 * Writes `rows` synthetic patients of site number `site` (1-based, >= 1) as
 * CSV to out: a header line with the dictionary's column names, then one
 * line per patient, LF line ends, no quoting (no value needs it), missing
 * values as empty fields. Every value is valid for the demo dictionary
 * (ranges, levels, decimals). Non-required columns are independently
 * missing with probability o->missing_rate.
 *
 * The cohort is correlated the way a clinician would expect (age drives
 * blood pressure, comorbidity and mortality; bmi drives type-2 diabetes;
 * diabetes drives HbA1c and E10/E11 diagnoses; smoking drives lung cancer
 * and COPD; death and followup_days come from a hazard model with
 * administrative censoring at 2025-12-31), and each site has its own case
 * mix (age, sex ratio, bmi, smoking, diabetes and diagnosis weights), so
 * pooled and per-site statistics differ. The later columns: hospital_type
 * (per site, above); egfr falling with age (about 1 mL/min per year after
 * 30), lower in women, diabetics and CKD diagnoses, 5..150, 1 decimal; arm
 * control/treatment 1:1 at random; outcome from the logistic model above;
 * surv_days/surv_event from the Weibull model above; consent "no" with
 * probability o->opt_out; patient_id a pseudonym "P" + 15 hex digits.
 *
 * Pseudonyms and overlap: row i (0-based) of every site is a pool slot
 * with probability o->overlap, decided by (seed, i) only, so the same
 * slots are pool slots at every site. A pool slot's patient has the same
 * patient_id, age and sex at every site that has at least i + 1 rows (age
 * and sex come from (seed, i) instead of the site's profile; everything
 * else about the admission is drawn per site, with the shared age and sex
 * as inputs). Every other row is a site-local patient with an id derived
 * from (seed, site, i). Ids are a 60-bit bijective mix of the index, so
 * ids never repeat within the pool or within a site.
 *
 * Deterministic: the same (site, rows prefix, options) gives the same
 * bytes, and the first k patients do not depend on `rows` (a shorter file
 * is a prefix of a longer one); the patients' values do not depend on
 * missing_rate (only which fields are blanked). With overlap 0 the first
 * twelve columns are exactly those of the original generator; the later
 * columns come from separate ChaCha20 streams. Floating point goes through
 * libm (log, exp, pow, cos), so bit-identical output is guaranteed on one
 * platform and libm, not across all of them.
 *
 * Returns MCN_EINVAL for site 0 or a rate outside [0, 1] (message in err),
 * MCN_ENOMEM / MCN_ECRYPTO if the generator cannot be created,
 * MCN_ESYS|errno if writing fails. On error, part of the file may have been
 * written. out stays open (flushed) and owned by the caller. Thread-safe
 * (no shared state).
 */
mcn_err mcn_synth_write(FILE *out, unsigned site, uint64_t rows,
    const mcn_synth_opts *o, char *err, size_t errlen) MCN_WUR;

#endif
