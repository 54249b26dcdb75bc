/*
 * node/synth.c - the demo dictionary and the synthetic cohort generator.
 *
 * The model, per patient, in generation order (every draw comes from one
 * ChaCha20 stream per site, so the order below is part of the format):
 *
 *   age       normal(site mean, site sd), redrawn until in 18..100
 *   sex       F with the site's female fraction
 *   bmi       log-normal around a median that rises to middle age, higher
 *             in men and shifted per site; 12..70, 1 decimal
 *   smoker    current/former/never; current falls with age, former rises,
 *             both higher in men, shifted per site
 *   diabetes  type1 0.6 %; type2 by a logistic model in age and bmi
 *   hba1c     normal by diabetes status (5.4 / 8.1 / 7.4 %), 3..20, 1 dec.
 *   diagnosis diabetics mostly get E10.x/E11.x; everyone else a weighted
 *             choice among ~20 common ICD-10 codes whose weights depend on
 *             age, sex, smoking, bmi and the site's case mix
 *   sbp       normal around 102 + 0.55 age (+ sex, bmi, hypertension,
 *             diabetes), 70..250 mmHg
 *   ldl       normal around 3.3 mmol/L, lower after coronary events
 *             (statins), higher with familial hypercholesterolaemia,
 *             0.5..10, 2 decimals
 *   admitted  uniform between the site's first day and 2025-12-31
 *   death, followup_days
 *             exponential death time with a yearly hazard that grows 7.5 %
 *             per year of age and is multiplied for the diagnosis, diabetes,
 *             smoking and male sex; exponential loss to follow-up; censored
 *             at 2025-12-31 and at 3650 days
 *
 * Which fields are blanked (missing_rate) is drawn from a second stream,
 * so the patients themselves do not depend on the missing rate.
 *
 * The later columns (hospital_type .. patient_id, added after the first
 * twelve) come from further streams so that the first twelve columns keep
 * their values: stream 'x' draws, per patient, eGFR (one normal), arm,
 * outcome, Weibull event time, loss to follow-up and consent (one uniform
 * each), stream 'n' their missingness. Pool patients (overlap, see
 * synth.h) are decided and given age, sex and pseudonym by counter-based
 * hashing of (seed, row index) (the splitmix64 finalizer), so every site
 * agrees on them without communication; their admission is generated from
 * stream 'p' while the site's own draws for that row are made and dropped,
 * so that the other rows do not move. Survival times by inversion of the
 * Weibull distribution function; the outcome by comparing a uniform with
 * the logistic probability. Reals are
 * generated as exact scaled integers (round(x * 10^decimals)), which is
 * how the store and the query engine hold them, and printed from those.
 * Calendar conversion: H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms" (days_from_civil / civil_from_days).
 */
#include "node/synth.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <openssl/evp.h>

#include "crypto/mem.h"
#include "crypto/rng.h"
#include "node/util.h"

/* The demo consortium's data dictionary; column order = CSV column order. */
static const char synth_dictionary[] =
    "{\n"
    "  \"name\": \"mcn-demo\",\n"
    "  \"version\": 1,\n"
    "  \"table\": \"patients\",\n"
    "  \"columns\": [\n"
    "    {\"name\": \"age\", \"type\": \"integer\", \"unit\": \"years\",\n"
    "     \"min\": 18, \"max\": 100, \"sensitivity\": 2, \"required\": true,\n"
    "     \"description\": \"age at admission\"},\n"
    "    {\"name\": \"sex\", \"type\": \"categorical\",\n"
    "     \"levels\": [\"F\", \"M\"], \"sensitivity\": 2, \"required\": true,\n"
    "     \"description\": \"administrative sex\"},\n"
    "    {\"name\": \"bmi\", \"type\": \"real\", \"unit\": \"kg/m2\",\n"
    "     \"min\": 12, \"max\": 70, \"decimals\": 1, \"sensitivity\": 2,\n"
    "     \"description\": \"body mass index at admission\"},\n"
    "    {\"name\": \"sbp\", \"type\": \"integer\", \"unit\": \"mmHg\",\n"
    "     \"min\": 70, \"max\": 250, \"sensitivity\": 2,\n"
    "     \"description\": \"systolic blood pressure at admission\"},\n"
    "    {\"name\": \"hba1c\", \"type\": \"real\", \"unit\": \"%\",\n"
    "     \"min\": 3, \"max\": 20, \"decimals\": 1, \"sensitivity\": 3,\n"
    "     \"description\": \"glycated haemoglobin (NGSP)\"},\n"
    "    {\"name\": \"ldl\", \"type\": \"real\", \"unit\": \"mmol/L\",\n"
    "     \"min\": 0.5, \"max\": 10, \"decimals\": 2, \"sensitivity\": 3,\n"
    "     \"description\": \"LDL cholesterol\"},\n"
    "    {\"name\": \"smoker\", \"type\": \"categorical\",\n"
    "     \"levels\": [\"never\", \"former\", \"current\"], "
    "\"sensitivity\": 3,\n"
    "     \"description\": \"smoking status\"},\n"
    "    {\"name\": \"diabetes\", \"type\": \"categorical\",\n"
    "     \"levels\": [\"no\", \"type1\", \"type2\"], \"sensitivity\": 3,\n"
    "     \"description\": \"diabetes mellitus\"},\n"
    "    {\"name\": \"diagnosis\", \"type\": \"code\", "
    "\"code_system\": \"ICD-10\",\n"
    "     \"sensitivity\": 4,\n"
    "     \"description\": \"primary diagnosis of the admission\"},\n"
    "    {\"name\": \"admitted\", \"type\": \"date\", "
    "\"min\": \"2015-01-01\",\n"
    "     \"max\": \"2025-12-31\", \"sensitivity\": 3, \"required\": true,\n"
    "     \"description\": \"admission date\"},\n"
    "    {\"name\": \"followup_days\", \"type\": \"integer\", "
    "\"unit\": \"days\",\n"
    "     \"min\": 0, \"max\": 3650, \"sensitivity\": 3,\n"
    "     \"description\": \"days from admission to death or censoring\"},\n"
    "    {\"name\": \"death\", \"type\": \"integer\", \"min\": 0, "
    "\"max\": 1,\n"
    "     \"sensitivity\": 4,\n"
    "     \"description\": \"1 if the patient died during follow-up\"},\n"
    "    {\"name\": \"hospital_type\", \"type\": \"categorical\",\n"
    "     \"levels\": [\"tertiary\", \"secondary\", \"primary\"], "
    "\"sensitivity\": 1,\n"
    "     \"required\": true,\n"
    "     \"description\": \"care level of the hospital (per site)\"},\n"
    "    {\"name\": \"egfr\", \"type\": \"real\", "
    "\"unit\": \"mL/min/1.73m2\",\n"
    "     \"min\": 5, \"max\": 150, \"decimals\": 1, \"sensitivity\": 3,\n"
    "     \"description\": \"estimated glomerular filtration rate\"},\n"
    "    {\"name\": \"arm\", \"type\": \"categorical\",\n"
    "     \"levels\": [\"control\", \"treatment\"], \"sensitivity\": 2,\n"
    "     \"required\": true,\n"
    "     \"description\": \"randomized arm (1:1)\"},\n"
    "    {\"name\": \"outcome\", \"type\": \"integer\", \"min\": 0, "
    "\"max\": 1,\n"
    "     \"sensitivity\": 4,\n"
    "     \"description\": \"1 if the binary study outcome occurred\"},\n"
    "    {\"name\": \"surv_days\", \"type\": \"integer\", "
    "\"unit\": \"days\",\n"
    "     \"min\": 0, \"max\": 3650, \"sensitivity\": 3,\n"
    "     \"description\": \"days from randomization to event or "
    "censoring\"},\n"
    "    {\"name\": \"surv_event\", \"type\": \"integer\", \"min\": 0, "
    "\"max\": 1,\n"
    "     \"sensitivity\": 4,\n"
    "     \"description\": \"1 if the study event occurred\"},\n"
    "    {\"name\": \"consent\", \"type\": \"categorical\",\n"
    "     \"levels\": [\"yes\", \"no\"], \"sensitivity\": 2,\n"
    "     \"required\": true, \"consent\": true,\n"
    "     \"description\": \"consent to secondary use (no = opted "
    "out)\"},\n"
    "    {\"name\": \"patient_id\", \"type\": \"code\",\n"
    "     \"code_system\": \"mcn-pseudonym\", \"sensitivity\": 5,\n"
    "     \"required\": true,\n"
    "     \"description\": \"pseudonymous patient identifier\"}\n"
    "  ]\n"
    "}\n";

static const char synth_header[] = "age,sex,bmi,sbp,hba1c,ldl,smoker,diabetes,"
                                   "diagnosis,admitted,followup_days,death,"
                                   "hospital_type,egfr,arm,outcome,"
                                   "surv_days,surv_event,consent,"
                                   "patient_id\n";

/* Columns that may be blanked, in CSV order (age, sex, admitted are
 * required). The missingness stream draws one number per entry per row. */
enum {
	SY_BMI,
	SY_SBP,
	SY_HBA1C,
	SY_LDL,
	SY_SMOKER,
	SY_DIABETES,
	SY_DIAGNOSIS,
	SY_FOLLOWUP,
	SY_DEATH,
	SY_NOPTIONAL
};

/* The later optional columns; their missingness has its own stream. */
enum { SX_EGFR, SX_OUTCOME, SX_SURV_DAYS, SX_SURV_EVENT, SX_NOPTIONAL };

enum { SMK_NEVER, SMK_FORMER, SMK_CURRENT };
enum { DM_NO, DM_TYPE1, DM_TYPE2 };
static const char *const synth_smoker[] = { "never", "former", "current" };
static const char *const synth_diabetes[] = { "no", "type1", "type2" };

/* The ICD-10 codes drawn for non-diabetic primary diagnoses. */
enum {
	DX_I10,   /* essential hypertension */
	DX_I25_1, /* atherosclerotic heart disease */
	DX_I21_9, /* acute myocardial infarction */
	DX_I50_9, /* heart failure */
	DX_I48_9, /* atrial fibrillation and flutter */
	DX_I63_9, /* cerebral infarction */
	DX_C50_9, /* breast cancer */
	DX_C34_9, /* lung cancer */
	DX_C18_9, /* colon cancer */
	DX_C61,   /* prostate cancer */
	DX_J45_9, /* asthma */
	DX_J44_9, /* COPD */
	DX_J18_9, /* pneumonia */
	DX_N18_3, /* chronic kidney disease stage 3 */
	DX_F32_9, /* depressive episode */
	DX_K21_9, /* gastro-oesophageal reflux */
	DX_M54_5, /* low back pain */
	DX_E78_0, /* pure hypercholesterolaemia */
	DX_E66_9, /* obesity */
	DX_S72_0, /* fracture of neck of femur */
	DX_N
};
static const char *const synth_dx[DX_N] = { "I10", "I25.1", "I21.9", "I50.9",
	"I48.9", "I63.9", "C50.9", "C34.9", "C18.9", "C61", "J45.9", "J44.9",
	"J18.9", "N18.3", "F32.9", "K21.9", "M54.5", "E78.0", "E66.9",
	"S72.0" };

/* Per-site case mix. Sites 1..4 use these; site k > 4 uses profile
 * (k-1) % 4 with small deterministic shifts derived from k. */
typedef struct synth_site {
	double age_mu, age_sd; /* years */
	double p_female;
	double bmi_shift;   /* kg/m2 added to the median */
	double smoke_shift; /* added to P(current smoker) */
	double t2d_logit;   /* added to the type-2 diabetes logit */
	double w_cardio, w_cancer, w_resp, w_psych; /* diagnosis weights */
	int first_year, first_month; /* first admission (day 1) */
} synth_site;

static const synth_site synth_profiles[4] = {
	/* a university hospital: cardiology and oncology referral centre */
	{ 58, 17, 0.51, 0.0, 0.00, 0.00, 1.3, 1.8, 1.0, 1.0, 2015, 1 },
	/* an older community hospital with more metabolic disease */
	{ 65, 14, 0.55, 1.2, -0.03, 0.35, 1.4, 0.8, 1.1, 0.8, 2015, 1 },
	/* an urban general hospital: younger, respiratory and psychiatry */
	{ 49, 18, 0.57, -0.8, 0.05, -0.25, 0.8, 0.9, 1.6, 1.7, 2017, 7 },
	/* a rural district hospital: smokers and obesity */
	{ 61, 16, 0.48, 2.0, 0.08, 0.45, 1.1, 0.9, 1.3, 0.9, 2016, 3 },
};

/* A buffered reader over a deterministic ChaCha20 stream. The first error
 * is sticky (values then read as 0) and checked once per row. */
#define SR_WORDS 512
typedef struct synth_rng {
	mcn_rng *rng;
	uint64_t buf[SR_WORDS];
	size_t pos;
	mcn_err rv;
	int have_spare;
	double spare;
} synth_rng;

static mcn_err
sr_init(synth_rng *s, char stream, unsigned site, uint64_t seed)
{
	uint8_t in[32], key[32];
	unsigned keylen = 0;
	size_t n = 0;
	static const char tag[] = "mcn-synth-v1";

	memset(s, 0, sizeof(*s));
	s->pos = SR_WORDS;
	memcpy(in, tag, sizeof(tag) - 1);
	n = sizeof(tag) - 1;
	in[n++] = (uint8_t)stream;
	for (int i = 3; i >= 0; i--) {
		in[n++] = (uint8_t)(site >> (8 * i));
	}
	for (int i = 7; i >= 0; i--) {
		in[n++] = (uint8_t)(seed >> (8 * i));
	}
	if (EVP_Digest(in, n, key, &keylen, EVP_sha256(), NULL) != 1 ||
	    keylen != sizeof(key)) {
		return MCN_ECRYPTO;
	}
	return mcn_rng_test_new(&s->rng, key);
}

static void
sr_fini(synth_rng *s)
{
	mcn_rng_free(s->rng);
	s->rng = NULL;
}

static uint64_t
sr_u64(synth_rng *s)
{
	if (s->pos == SR_WORDS) {
		mcn_err rv = mcn_rng_bytes(s->rng, s->buf, sizeof(s->buf));
		if (rv != MCN_OK) {
			if (s->rv == MCN_OK) {
				s->rv = rv;
			}
			memset(s->buf, 0, sizeof(s->buf));
		}
		s->pos = 0;
	}
	return s->buf[s->pos++];
}

/* Uniform in [0, 1) with 53 random bits. */
static double
sr_unif(synth_rng *s)
{
	return (double)(sr_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

#define SY_TWO_PI 6.283185307179586476925286766559

/* Standard normal by the Box-Muller transform (Box and Muller, 1958),
 * keeping the second value of each pair. */
static double
sr_normal(synth_rng *s)
{
	double u1, u2, r;

	if (s->have_spare) {
		s->have_spare = 0;
		return s->spare;
	}
	u1 = 1.0 - sr_unif(s); /* (0, 1]: log is finite */
	u2 = sr_unif(s);
	r = sqrt(-2.0 * log(u1));
	s->spare = r * sin(SY_TWO_PI * u2);
	s->have_spare = 1;
	return r * cos(SY_TWO_PI * u2);
}

/* Exponential with the given rate (> 0). */
static double
sr_exp(synth_rng *s, double rate)
{
	return -log(1.0 - sr_unif(s)) / rate;
}

/* Index drawn with probability w[i] / sum(w); w[i] >= 0, sum > 0. */
static int
sr_choose(synth_rng *s, const double *w, int n)
{
	double total = 0, u;

	for (int i = 0; i < n; i++) {
		total += w[i];
	}
	u = sr_unif(s) * total;
	for (int i = 0; i < n; i++) {
		if (u < w[i]) {
			return i;
		}
		u -= w[i];
	}
	return n - 1;
}

static double
clampd(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* round(x * scale) clamped to [lo, hi] (already scaled). */
static int64_t
scaled(double x, double scale, int64_t lo, int64_t hi)
{
	int64_t v = (int64_t)llround(x * scale);
	return v < lo ? lo : v > hi ? hi : v;
}

static int32_t
days_from_civil(int y, unsigned m, unsigned d)
{
	int era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t)doe - 719468;
}

static void
civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
	int era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)yoe + era * 400 + (*m <= 2);
}

/* One patient, reals as scaled integers. */
typedef struct synth_row {
	int age, female, sbp, smoker, diabetes, dx_code, followup, death;
	int64_t bmi10, hba1c10, ldl100;
	const char *dx;
	int32_t admitted;
} synth_row;

static void
synth_profile(synth_site *p, unsigned site)
{
	*p = synth_profiles[(site - 1) % 4];
	if (site > 4) {
		p->age_mu += ((double)(site * 7 % 9) - 4.0) * 0.7;
		p->p_female += ((double)(site * 5 % 7) - 3.0) * 0.005;
		p->bmi_shift += ((double)(site * 3 % 5) - 2.0) * 0.3;
		p->t2d_logit += ((double)(site * 11 % 5) - 2.0) * 0.05;
	}
}

static void
synth_diagnosis(synth_rng *s, const synth_site *p, synth_row *r)
{
	double w[DX_N];
	double a = clampd((r->age - 20) / 40.0, 0.05, 2.5); /* age factor */
	double a2 = a * a;
	int male = !r->female;
	int cur = r->smoker == SMK_CURRENT, former = r->smoker == SMK_FORMER;
	double bmi = (double)r->bmi10 / 10.0;

	/* Diabetics are mostly admitted for their diabetes. */
	if (r->diabetes == DM_TYPE2 && sr_unif(s) < 0.6) {
		double u = sr_unif(s);
		r->dx = u < 0.7 ? "E11.9" : u < 0.9 ? "E11.65" : "E11.22";
		return;
	}
	if (r->diabetes == DM_TYPE1 && sr_unif(s) < 0.6) {
		r->dx = sr_unif(s) < 0.8 ? "E10.9" : "E10.65";
		return;
	}
	w[DX_I10] = 8.0 * a * p->w_cardio;
	w[DX_I25_1] = 4.0 * a2 * (male ? 1.6 : 0.7) * p->w_cardio;
	w[DX_I21_9] =
	    1.5 * a2 * (male ? 1.8 : 0.7) * (cur ? 1.8 : 1.0) * p->w_cardio;
	w[DX_I50_9] = 2.0 * a2 * a * p->w_cardio;
	w[DX_I48_9] = 2.0 * a2 * p->w_cardio;
	w[DX_I63_9] = 1.5 * a2 * (cur ? 1.5 : 1.0);
	w[DX_C50_9] = (male ? 0.03 : 3.0) * a * p->w_cancer;
	w[DX_C34_9] = 1.2 * a * (cur ? 3.0 : former ? 2.0 : 0.5) * p->w_cancer;
	w[DX_C18_9] = 1.2 * a * p->w_cancer;
	w[DX_C61] = male ? 2.0 * a2 * p->w_cancer : 0.0;
	w[DX_J45_9] = (r->age < 40 ? 4.0 : 2.0) * p->w_resp;
	w[DX_J44_9] = 2.0 * a * (cur ? 3.0 : former ? 2.0 : 0.3) * p->w_resp;
	w[DX_J18_9] = (r->age >= 70 ? 5.0 : 2.5) * p->w_resp;
	w[DX_N18_3] = 2.0 * a2;
	w[DX_F32_9] =
	    2.5 * (male ? 1.0 : 1.6) * (r->age < 60 ? 1.2 : 0.7) * p->w_psych;
	w[DX_K21_9] = 2.5;
	w[DX_M54_5] = 3.0;
	w[DX_E78_0] = 2.5 * a;
	w[DX_E66_9] = bmi >= 30.0 ? 4.0 : 0.2;
	w[DX_S72_0] = r->age >= 75 ? (male ? 2.0 : 3.5) : 0.1;
	r->dx_code = sr_choose(s, w, DX_N);
	r->dx = synth_dx[r->dx_code];
}

/* Yearly mortality multiplier of a primary diagnosis. */
static double
synth_dx_hazard(const char *dx)
{
	static const struct {
		const char *code;
		double mult;
	} t[] = { { "C34.9", 9.0 }, { "C18.9", 3.5 }, { "C50.9", 2.0 },
		{ "C61", 1.5 }, { "I50.9", 4.0 }, { "I21.9", 2.5 },
		{ "I63.9", 2.5 }, { "J44.9", 2.2 }, { "N18.3", 2.0 },
		{ "S72.0", 3.0 }, { "J18.9", 2.0 }, { "I48.9", 1.3 },
		{ "I25.1", 1.3 } };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(dx, t[i].code) == 0) {
			return t[i].mult;
		}
	}
	return 1.0;
}

/* Age and sex of a pool patient (NULL: the site's own draws). */
typedef struct synth_pool {
	int age, female;
} synth_pool;

static void
synth_patient(synth_rng *s, const synth_site *p, const synth_pool *pool,
    int32_t first_day, int32_t last_day, synth_row *r)
{
	double x, med, pc, pf, lt2, days, loss, death_t, admin, h;
	int male, tries, statin;

	memset(r, 0, sizeof(*r));
	r->dx_code = -1;

	/* age: truncated normal by redrawing (bounded, then clamped) */
	for (tries = 0, x = -1; tries < 16; tries++) {
		x = nearbyint(p->age_mu + p->age_sd * sr_normal(s));
		if (x >= 18 && x <= 100) {
			break;
		}
	}
	r->age = (int)clampd(x, 18, 100);
	r->female = sr_unif(s) < p->p_female;
	if (pool != NULL) {
		r->age = pool->age;
		r->female = pool->female;
	}
	male = !r->female;

	/* bmi: log-normal; the median peaks around 60 */
	med = 26.0 + p->bmi_shift + (male ? 0.5 : 0.0) + 0.05 * (r->age - 50) -
	    0.0015 * (r->age - 50) * (r->age - 50);
	x = med * exp(0.17 * sr_normal(s));
	r->bmi10 = scaled(x, 10.0, 120, 700);

	/* smoking */
	pc = 0.24 - 0.003 * (r->age - 40) + (male ? 0.06 : 0.0);
	pc = clampd(pc + p->smoke_shift, 0.03, 0.6);
	pf = 0.15 + 0.004 * (r->age - 40) + (male ? 0.05 : 0.0);
	pf = clampd(pf, 0.05, 0.45);
	x = sr_unif(s);
	r->smoker = x < pc ? SMK_CURRENT : x < pc + pf ? SMK_FORMER : SMK_NEVER;

	/* diabetes: type 1 flat, type 2 logistic in age and bmi */
	lt2 = -2.3 + 0.045 * (r->age - 55) +
	    0.12 * ((double)r->bmi10 / 10.0 - 27.0) + p->t2d_logit;
	x = sr_unif(s);
	if (x < 0.006) {
		r->diabetes = DM_TYPE1;
	} else if (x < 0.006 + 1.0 / (1.0 + exp(-lt2))) {
		r->diabetes = DM_TYPE2;
	} else {
		r->diabetes = DM_NO;
	}

	/* HbA1c by diabetes status */
	switch (r->diabetes) {
	case DM_TYPE1: x = 8.1 + 1.3 * sr_normal(s); break;
	case DM_TYPE2: x = 7.4 + 1.25 * sr_normal(s); break;
	default:
		x = 5.35 + 0.006 * (r->age - 50) +
		    0.02 * ((double)r->bmi10 / 10.0 - 27.0) +
		    0.35 * sr_normal(s);
		break;
	}
	r->hba1c10 = scaled(x, 10.0, 30, 200);

	synth_diagnosis(s, p, r);

	/* systolic blood pressure */
	x = 102.0 + 0.55 * r->age + (male ? 4.0 : 0.0) +
	    0.5 * ((double)r->bmi10 / 10.0 - 27.0) +
	    (r->dx_code == DX_I10 ? 14.0 : 0.0) +
	    (r->diabetes == DM_TYPE2 ? 4.0 : 0.0) + 14.0 * sr_normal(s);
	r->sbp = (int)scaled(x, 1.0, 70, 250);

	/* LDL: statins after coronary events, high in hypercholesterolaemia */
	statin = r->dx_code == DX_I25_1 || r->dx_code == DX_I21_9 ||
	    r->diabetes == DM_TYPE2;
	x = 3.3 + (male ? -0.1 : 0.0) + 0.006 * (r->age - 50) +
	    (statin ? -0.9 : 0.0) + (r->dx_code == DX_E78_0 ? 1.6 : 0.0) +
	    0.85 * sr_normal(s);
	r->ldl100 = scaled(x, 100.0, 50, 1000);

	/* admission date */
	r->admitted = first_day +
	    (int32_t)(sr_unif(s) * (double)(last_day - first_day + 1));
	if (r->admitted > last_day) {
		r->admitted = last_day;
	}

	/* survival: yearly hazard, loss to follow-up, administrative end */
	h = 0.004 * exp(0.075 * (r->age - 60)) * synth_dx_hazard(r->dx);
	if (r->diabetes == DM_TYPE2) {
		h *= 1.4;
	} else if (r->diabetes == DM_TYPE1) {
		h *= 1.6;
	}
	h *= (r->smoker == SMK_CURRENT ? 1.6 : 1.0) * (male ? 1.25 : 1.0);
	h = clampd(h, 1e-4, 5.0);
	death_t = sr_exp(s, h) * 365.25;
	loss = sr_exp(s, 0.04) * 365.25;
	admin = (double)(last_day - r->admitted);
	if (admin > 3650.0) {
		admin = 3650.0;
	}
	days = loss < admin ? loss : admin;
	r->death = death_t <= days;
	if (r->death) {
		days = death_t;
	}
	r->followup = (int)clampd(floor(days), 0, 3650);
}

/* ---- the later columns (hospital type, eGFR, trial, pseudonyms) ---- */

static const char *const synth_hospital[] = { "tertiary", "secondary",
	"primary" };

/* The true outcome model; order = the query's parameter order. */
static const mcn_synth_coef synth_outcome_truth[MCN_SYNTH_OUTCOME_TERMS] = {
	{ "(intercept)", -5.5 },
	{ "age", 0.03 },
	{ "sex=M", 0.3 },
	{ "bmi", 0.04 },
	{ "sbp", 0.01 },
	{ "hba1c", 0.2 },
	{ "egfr", -0.015 },
	{ "smoker=former", 0.25 },
	{ "smoker=current", 0.6 },
	{ "diabetes=type1", 0.4 },
	{ "diabetes=type2", 0.5 },
	{ "arm=treatment", -0.4 },
};

/* The later columns of one patient. */
typedef struct synth_extra {
	int64_t egfr10;
	int treatment, outcome, surv_days, surv_event, optout;
	uint64_t id; /* 60 bits */
} synth_extra;

mcn_synth_hospital
mcn_synth_hospital_type(unsigned site)
{
	switch (site % 3) {
	case 1: return MCN_SYNTH_TERTIARY;
	case 2: return MCN_SYNTH_SECONDARY;
	default: return MCN_SYNTH_PRIMARY;
	}
}

const char *
mcn_synth_hospital_name(mcn_synth_hospital t)
{
	MCN_MUST((unsigned)t < 3);
	return synth_hospital[t];
}

const mcn_synth_coef *
mcn_synth_outcome_truth(void)
{
	return synth_outcome_truth;
}

void
mcn_synth_opts_default(mcn_synth_opts *o)
{
	MCN_MUST(o != NULL);
	o->seed = 1;
	o->missing_rate = 0.05;
	o->opt_out = 0.02;
	o->overlap = 0.05;
}

#define SY_M60 ((UINT64_C(1) << 60) - 1)

/* A bijection of [0, 2^60): the splitmix64 finalizer (Steele, Lea and
 * Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014)
 * with every step reduced mod 2^60 (xor-shift and multiplication by an
 * odd constant are both invertible there). */
static uint64_t
mix60(uint64_t x)
{
	x &= SY_M60;
	x = ((x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9)) & SY_M60;
	x = ((x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb)) & SY_M60;
	return x ^ (x >> 31);
}

/* The full 64-bit splitmix64 finalizer, for hashed uniforms. */
static uint64_t
mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static double
hash_unif(uint64_t key, uint64_t i, uint64_t salt)
{
	uint64_t h = mix64(key ^ mix64(i * UINT64_C(0x9e3779b97f4a7c15) + salt));
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* Pool decisions depend on (seed, row index) only, never on the site. */
typedef struct synth_poolkeys {
	uint64_t slot, demo, id;
} synth_poolkeys;

static void
synth_poolkeys_init(synth_poolkeys *k, uint64_t seed)
{
	k->slot = mix64(seed ^ UINT64_C(0x6d636e2d706f6f6c)); /* "mcn-pool" */
	k->demo = mix64(k->slot + 1);
	k->id = mix64(k->slot + 2);
}

/* Age ~ normal(60, 17) truncated to 18..100 (Box-Muller on hashed
 * uniforms, redrawn), sex F with probability 0.52. */
static void
synth_pool_patient(const synth_poolkeys *k, uint64_t i, synth_pool *pp)
{
	double x = 60;

	for (uint64_t t = 0; t < 16; t++) {
		double u1 = 1.0 - hash_unif(k->demo, i, 2 * t + 1);
		double u2 = hash_unif(k->demo, i, 2 * t + 2);
		x = nearbyint(60.0 + 17.0 * sqrt(-2.0 * log(u1)) *
		    cos(SY_TWO_PI * u2));
		if (x >= 18 && x <= 100) {
			break;
		}
	}
	pp->age = (int)clampd(x, 18, 100);
	pp->female = hash_unif(k->demo, i, 0) < 0.52;
}

/* Pseudonym of a pool patient (bit 59 set) or of site-local row i. */
static uint64_t
synth_id(const synth_poolkeys *k, int pool, unsigned site, uint64_t i)
{
	uint64_t in = pool ? ((UINT64_C(1) << 59) | i)
	                   : (((uint64_t)site << 32) | i);
	return mix60(in ^ (k->id & SY_M60));
}

/* Draws the later columns of patient r from stream x (six draws). */
static void
synth_extra_row(synth_rng *x, mcn_synth_hospital ht, double opt_out,
    const synth_row *r, synth_extra *e)
{
	const mcn_synth_coef *b = synth_outcome_truth;
	double egfr, eta, t, loss, lossrate, cens, u;
	int male = !r->female;

	/* eGFR: CKD-EPI-like decline of about 1 mL/min per year after 30 */
	egfr = 112.0 - 0.95 * (r->age > 30 ? r->age - 30 : 0) +
	    (male ? 3.0 : -3.0) +
	    (r->diabetes == DM_TYPE2 ? -9.0 :
	     r->diabetes == DM_TYPE1 ? -6.0 : 0.0) +
	    (r->dx_code == DX_N18_3 ? -40.0 : 0.0) +
	    (r->dx_code == DX_I50_9 ? -12.0 : 0.0) +
	    (ht == MCN_SYNTH_TERTIARY ? -5.0 :
	     ht == MCN_SYNTH_PRIMARY ? 3.0 : 0.0) +
	    13.0 * sr_normal(x);
	e->egfr10 = scaled(egfr, 10.0, 50, 1500);

	/* 1:1 randomization */
	e->treatment = sr_unif(x) < 0.5;

	/* outcome from the true logistic model, on the written values */
	eta = b[0].value + b[1].value * r->age + b[2].value * male +
	    b[3].value * ((double)r->bmi10 / 10.0) + b[4].value * r->sbp +
	    b[5].value * ((double)r->hba1c10 / 10.0) +
	    b[6].value * ((double)e->egfr10 / 10.0) +
	    b[7].value * (r->smoker == SMK_FORMER) +
	    b[8].value * (r->smoker == SMK_CURRENT) +
	    b[9].value * (r->diabetes == DM_TYPE1) +
	    b[10].value * (r->diabetes == DM_TYPE2) +
	    b[11].value * e->treatment;
	e->outcome = sr_unif(x) < 1.0 / (1.0 + exp(-eta));

	/* Weibull event time by inversion: T = scale (-log U / HR)^(1/k) */
	u = 1.0 - sr_unif(x); /* (0, 1] */
	t = MCN_SYNTH_WEIBULL_SCALE *
	    pow(-log(u) / (e->treatment ? MCN_SYNTH_HR_TREATMENT : 1.0),
	        1.0 / MCN_SYNTH_WEIBULL_SHAPE);
	lossrate = ht == MCN_SYNTH_TERTIARY  ? MCN_SYNTH_LOSS_TERTIARY :
	    ht == MCN_SYNTH_SECONDARY        ? MCN_SYNTH_LOSS_SECONDARY :
	                                       MCN_SYNTH_LOSS_PRIMARY;
	loss = sr_exp(x, lossrate) * 365.25;
	cens = loss < (double)MCN_SYNTH_ADMIN_DAYS ? loss
	                                           : MCN_SYNTH_ADMIN_DAYS;
	e->surv_event = t <= cens;
	e->surv_days = (int)clampd(floor(e->surv_event ? t : cens), 0,
	    MCN_SYNTH_ADMIN_DAYS);

	e->optout = sr_unif(x) < opt_out;
}

static const char synth_hex[] = "0123456789ABCDEF";

static char *
put_id(char *p, uint64_t id)
{
	*p++ = 'P';
	for (int sh = 56; sh >= 0; sh -= 4) {
		*p++ = synth_hex[(id >> sh) & 15];
	}
	return p;
}

static char *
put_str(char *p, const char *s)
{
	while (*s != '\0') {
		*p++ = *s++;
	}
	return p;
}

static char *
put_uint(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0) {
		*p++ = tmp[--n];
	}
	return p;
}

/* A non-negative scaled integer v / 10^d with exactly d decimals. */
static char *
put_scaled(char *p, int64_t v, unsigned d)
{
	uint64_t pow = 1, u = (uint64_t)v;

	for (unsigned i = 0; i < d; i++) {
		pow *= 10;
	}
	p = put_uint(p, u / pow);
	if (d > 0) {
		uint64_t frac = u % pow;
		*p++ = '.';
		for (uint64_t q = pow / 10; q > 0; q /= 10) {
			*p++ = (char)('0' + frac / q % 10);
		}
	}
	return p;
}

static char *
put_date(char *p, int32_t days)
{
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	p = put_uint(p, (uint64_t)y);
	*p++ = '-';
	*p++ = (char)('0' + m / 10);
	*p++ = (char)('0' + m % 10);
	*p++ = '-';
	*p++ = (char)('0' + d / 10);
	*p++ = (char)('0' + d % 10);
	return p;
}

/* Formats one row; miss[i] blanks optional column i, xmiss[i] optional
 * later column i. Returns the length. */
static size_t
synth_format(char *line, const synth_row *r, const int *miss,
    const synth_extra *e, const char *htype, const int *xmiss)
{
	char *p = line;

	p = put_uint(p, (uint64_t)r->age);
	*p++ = ',';
	*p++ = r->female ? 'F' : 'M';
	*p++ = ',';
	if (!miss[SY_BMI]) {
		p = put_scaled(p, r->bmi10, 1);
	}
	*p++ = ',';
	if (!miss[SY_SBP]) {
		p = put_uint(p, (uint64_t)r->sbp);
	}
	*p++ = ',';
	if (!miss[SY_HBA1C]) {
		p = put_scaled(p, r->hba1c10, 1);
	}
	*p++ = ',';
	if (!miss[SY_LDL]) {
		p = put_scaled(p, r->ldl100, 2);
	}
	*p++ = ',';
	if (!miss[SY_SMOKER]) {
		p = put_str(p, synth_smoker[r->smoker]);
	}
	*p++ = ',';
	if (!miss[SY_DIABETES]) {
		p = put_str(p, synth_diabetes[r->diabetes]);
	}
	*p++ = ',';
	if (!miss[SY_DIAGNOSIS]) {
		p = put_str(p, r->dx);
	}
	*p++ = ',';
	p = put_date(p, r->admitted);
	*p++ = ',';
	if (!miss[SY_FOLLOWUP]) {
		p = put_uint(p, (uint64_t)r->followup);
	}
	*p++ = ',';
	if (!miss[SY_DEATH]) {
		*p++ = r->death ? '1' : '0';
	}
	*p++ = ',';
	p = put_str(p, htype);
	*p++ = ',';
	if (!xmiss[SX_EGFR]) {
		p = put_scaled(p, e->egfr10, 1);
	}
	*p++ = ',';
	p = put_str(p, e->treatment ? "treatment" : "control");
	*p++ = ',';
	if (!xmiss[SX_OUTCOME]) {
		*p++ = e->outcome ? '1' : '0';
	}
	*p++ = ',';
	if (!xmiss[SX_SURV_DAYS]) {
		p = put_uint(p, (uint64_t)e->surv_days);
	}
	*p++ = ',';
	if (!xmiss[SX_SURV_EVENT]) {
		*p++ = e->surv_event ? '1' : '0';
	}
	*p++ = ',';
	p = put_str(p, e->optout ? "no" : "yes");
	*p++ = ',';
	p = put_id(p, e->id);
	*p++ = '\n';
	return (size_t)(p - line);
}

const char *
mcn_synth_dictionary_json(void)
{
	return synth_dictionary;
}

static int
rate_ok(double r)
{
	return r >= 0.0 && r <= 1.0;
}

/* The five streams of one site: values, missingness, pool patients'
 * admissions, later columns, later columns' missingness. */
enum { ST_VALS, ST_MISS, ST_POOL, ST_EXTRA, ST_XMISS, ST_N };

mcn_err
mcn_synth_write(FILE *out, unsigned site, uint64_t rows,
    const mcn_synth_opts *o, char *err, size_t errlen)
{
	static const char tags[ST_N] = { 'v', 'm', 'p', 'x', 'n' };
	synth_rng *st[ST_N] = { NULL };
	synth_site prof;
	synth_row r, shadow;
	synth_extra ex;
	synth_poolkeys keys;
	synth_pool pool;
	mcn_synth_hospital ht;
	const char *htype;
	int32_t first_day, last_day;
	char line[320];
	int blank[SY_NOPTIONAL], xblank[SX_NOPTIONAL];
	int e;
	mcn_err rv = MCN_ENOMEM;

	MCN_MUST(out != NULL && o != NULL);
	if (site == 0) {
		mcn_msg(err, errlen, "site numbers start at 1");
		return MCN_EINVAL;
	}
	if (!rate_ok(o->missing_rate)) {
		mcn_msg(err, errlen, "missing rate must be between 0 and 1");
		return MCN_EINVAL;
	}
	if (!rate_ok(o->opt_out)) {
		mcn_msg(err, errlen, "opt-out rate must be between 0 and 1");
		return MCN_EINVAL;
	}
	if (!rate_ok(o->overlap)) {
		mcn_msg(err, errlen, "overlap must be between 0 and 1");
		return MCN_EINVAL;
	}
	for (int k = 0; k < ST_N; k++) {
		if ((st[k] = mcn_zalloc(sizeof(*st[k]))) == NULL) {
			mcn_msg(err, errlen, "out of memory");
			rv = MCN_ENOMEM;
			goto out;
		}
		if ((rv = sr_init(st[k], tags[k], site, o->seed)) != MCN_OK) {
			mcn_msg(err, errlen, "cannot create the generator: %s",
			    mcn_strerror(rv));
			goto out;
		}
	}
	synth_profile(&prof, site);
	synth_poolkeys_init(&keys, o->seed);
	ht = mcn_synth_hospital_type(site);
	htype = mcn_synth_hospital_name(ht);
	first_day =
	    days_from_civil(prof.first_year, (unsigned)prof.first_month, 1);
	last_day = days_from_civil(2025, 12, 31);

	errno = 0;
	if (fwrite(synth_header, 1, sizeof(synth_header) - 1, out) !=
	    sizeof(synth_header) - 1) {
		goto write_error;
	}
	for (uint64_t i = 0; i < rows; i++) {
		size_t len;
		int in_pool = o->overlap > 0.0 &&
		    hash_unif(keys.slot, i, 0) < o->overlap;

		synth_patient(st[ST_VALS], &prof, NULL, first_day, last_day,
		    &r);
		if (in_pool) {
			/* the site's own draws above only keep the stream
			 * aligned; the pool patient comes from stream 'p' */
			synth_pool_patient(&keys, i, &pool);
			synth_patient(st[ST_POOL], &prof, &pool, first_day,
			    last_day, &shadow);
			r = shadow;
		}
		for (int c = 0; c < SY_NOPTIONAL; c++) {
			blank[c] = sr_unif(st[ST_MISS]) < o->missing_rate;
		}
		synth_extra_row(st[ST_EXTRA], ht, o->opt_out, &r, &ex);
		ex.id = synth_id(&keys, in_pool, site, i);
		for (int c = 0; c < SX_NOPTIONAL; c++) {
			xblank[c] = sr_unif(st[ST_XMISS]) < o->missing_rate;
		}
		for (int k = 0; k < ST_N; k++) {
			if (st[k]->rv != MCN_OK) {
				rv = st[k]->rv;
				mcn_msg(err, errlen, "generator failed: %s",
				    mcn_strerror(rv));
				goto out;
			}
		}
		len = synth_format(line, &r, blank, &ex, htype, xblank);
		if (fwrite(line, 1, len, out) != len) {
			goto write_error;
		}
	}
	if (fflush(out) != 0) {
		goto write_error;
	}
	rv = MCN_OK;
	goto out;

write_error:
	e = errno != 0 ? errno : EIO;
	rv = MCN_ESYS | e;
	mcn_msg(err, errlen, "write failed: %s", strerror(e));
out:
	for (int k = 0; k < ST_N; k++) {
		if (st[k] != NULL) {
			sr_fini(st[k]);
			mcn_free(st[k], sizeof(*st[k]));
		}
	}
	return rv;
}
