"""Seeded toy data for the reference trigger models (``models/``).

Real LHC training data cannot be downloaded here, so each reference model trains on
a small generative "physics" model written in numpy. The generators are not event
generators: they draw a few latent physical quantities per event (a jet's mass,
its number of hard prongs, how much soft radiation it carries, ...) and derive
every observed feature from them with realistic shapes, correlations and
resolutions. The tasks are therefore learnable, but with the same kind of class
overlap as the real ones (W vs Z jets differ only by 11 GeV of mass; a QCD jet
with a hard splitting looks two-pronged; a signal event can look like a tail of
the background).

This module is not part of the compiler: it serves ``models/*/train.py``, the tests
and ``bench/``, and no compiler module imports it (``tests/unit/test_layering.py``
checks). It ships in the package only so that ``trigc.datasets`` is importable
wherever trigc is installed; it needs nothing but numpy.

Everything is deterministic in ``seed`` (``numpy.random.default_rng``); the
feature standardisation constants come from a fixed reference sample, so they
do not depend on the caller's seed or sample size.

Generators
----------
``jet_features(n, seed)``
    16 high-level jet-substructure features, 5 classes (g, q, W, Z, t), after the
    hls4ml LHC jet-tagging dataset (arXiv:1804.06913, 1908.05318).
``calo_images(n, seed)``
    8x8 calorimeter-tower images of boosted jets, 3 classes (QCD, W -> qq, t -> bqq).
``calo_images_large(n, seed, size=16)``
    The same jets in a wider (16x16) window of the same towers.
``hgcal_modules(n, seed)``
    The 48 trigger-cell charges of an HGCAL silicon module (4x4x3, channels last)
    for an ECON-T-like autoencoder, after arXiv:2105.01683.
``l1_events(n, seed, process)``
    16 event-level L1 trigger quantities (MET, HT, jets, e/gamma, muons, tau) for
    a background mixture (QCD, W, Z, ttbar) and four "new physics" signals, after
    the ADC2021 anomaly-detection challenge (arXiv:2107.02157).
``jet_constituents(n, seed)``
    Up to 16 constituents per jet (pT fraction, delta-eta, delta-phi), zero-padded,
    5 classes (g, q, W, Z, t): per-object inputs of a Deep Sets tagger.
``roc_auc``, ``efficiency_at_rate``
    The two anomaly-trigger figures of merit.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "CALO_CLASSES",
    "CALO_LARGE_SHAPE",
    "CALO_SHAPE",
    "HGCAL_SHAPE",
    "HGCAL_TC_XY",
    "JET_CLASSES",
    "JET_FEATURES",
    "L1_BACKGROUNDS",
    "L1_FEATURES",
    "L1_SIGNALS",
    "calo_images",
    "calo_images_large",
    "efficiency_at_rate",
    "hgcal_modules",
    "jet_features",
    "l1_events",
    "roc_auc",
    "split_seed",
]

REFERENCE_SEED = 20260101  # seed of the sample the standardisation is computed on
REFERENCE_SIZE = 200_000


def split_seed(seed: int, stream: str) -> int:
    """A seed for an independent stream (e.g. ``"train"``, ``"test"``) derived
    from ``seed``, so train and test samples never share events."""
    return int(np.random.SeedSequence([seed, *map(ord, stream)]).generate_state(1)[0])


# =============================================================================
# 1. Jet-substructure features (hls4ml jet-tagging dataset look-alike)
# =============================================================================

JET_CLASSES = ("g", "q", "W", "Z", "t")

JET_FEATURES = (
    "j_mass_mmdt",      # 0  groomed (mMDT) jet mass [GeV]
    "j_multiplicity",   # 1  number of jet constituents
    "j_zlogz",          # 2  sum z log z over constituents (more negative = more, softer particles)
    "j_tau21",          # 3  N-subjettiness ratio tau2/tau1 (low = two-pronged)
    "j_tau32",          # 4  N-subjettiness ratio tau3/tau2 (low = three-pronged)
    "j_c1_b0_mmdt",     # 5  C1, beta=0: 1 - sum z_i^2, a constituent-count measure
    "j_c1_b1_mmdt",     # 6  C1, beta=1: jet girth/width ~ m/pT
    "j_c1_b2_mmdt",     # 7  C1, beta=2: ~ (m/pT)^2
    "j_c2_b1_mmdt",     # 8  C2 = e3/e2^2, beta=1 (low = two-pronged)
    "j_c2_b2_mmdt",     # 9  C2, beta=2
    "j_d2_b1_mmdt",     # 10 D2 = e3/e2^3, beta=1 (the best two-prong discriminant)
    "j_d2_b2_mmdt",     # 11 D2, beta=2
    "j_d2_a1_b2_mmdt",  # 12 D2 with alpha=1, beta=2
    "j_m2_b1_mmdt",     # 13 M2 generalised ECF ratio (mostly radiation-sensitive)
    "j_n2_b1_mmdt",     # 14 N2 generalised ECF ratio, beta=1 (two-prong)
    "j_n2_b2_mmdt",     # 15 N2, beta=2
)

# Per-class latent parameters. prong-state probabilities (1, 2, 3 hard prongs
# reconstructed inside the groomed jet), mean constituent multiplicity, and the
# mean log "radiation" (colour charge: gluons radiate C_A/C_F = 2.25 times as much
# as quarks; W/Z are colour singlets, so their jets carry the least).
_JET_PRONGS = {  # P(1 prong), P(2 prongs), P(3 prongs)
    "g": (1.0, 0.0, 0.0), "q": (1.0, 0.0, 0.0),
    "W": (0.08, 0.92, 0.0), "Z": (0.08, 0.92, 0.0),
    "t": (0.05, 0.20, 0.75),
}
_JET_MULT = {"g": 52.0, "q": 33.0, "W": 40.0, "Z": 42.0, "t": 60.0}
_JET_LOGRAD = {"g": 0.40, "q": 0.0, "W": -0.20, "Z": -0.18, "t": 0.15}


def _jet_raw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unstandardised features (float64) and labels of ``n`` jets.

    Latent model, per jet (pT ~ U(800, 1200) GeV, as in the hls4ml sample):

    * class uniform over g, q, W, Z, t;
    * prong state k in {1, 2, 3} (see ``_JET_PRONGS``: a W/Z loses a prong to
      grooming 8 % of the time; 20 % of tops are only partially merged and look
      like a W, 5 % like a single hard prong);
    * groomed mass: QCD-like lognormal for one prong (gluons heavier than quarks),
      W 80.4 / Z 91.2 GeV with 8 % resolution for two prongs (top with two prongs
      peaks at the W mass), 173 GeV with 9 % resolution for three prongs;
    * constituent multiplicity: gamma-Poisson (over-dispersed) around a class mean
      that also grows with the amount of radiation;
    * log radiation r: class mean + N(0, 0.35), shared by every shape variable;
    * "two-prong-ness" L2 and "three-prong-ness" L3: Gaussian latents whose mean
      depends on k, with unit-ish width: this is what limits the separation.

    Every substructure ratio is a log-linear function of (L2, L3, r) plus its own
    small noise, so the beta variants are strongly correlated (as in real jets)
    and averaging them does not remove the latent noise.
    """
    y = rng.integers(0, len(JET_CLASSES), n)
    pt = rng.uniform(800.0, 1200.0, n)
    u = rng.random(n)
    probs = np.array([_JET_PRONGS[c] for c in JET_CLASSES])[y]
    k = 1 + (u > probs[:, 0]).astype(int) + (u > probs[:, 0] + probs[:, 1]).astype(int)

    logr = np.array([_JET_LOGRAD[c] for c in JET_CLASSES])[y] + rng.normal(0, 0.35, n)

    # groomed mass
    is_g = y == JET_CLASSES.index("g")
    qcd_mass = np.exp(rng.normal(np.where(is_g, np.log(38.0), np.log(24.0)), 0.55, n))
    heavy = {"W": 80.4, "Z": 91.2, "t": 80.4}  # two prongs: a top's W
    m2 = np.array([heavy.get(c, 85.0) for c in JET_CLASSES])[y]
    mass = np.where(k == 1, qcd_mass,
                    np.where(k == 2, m2 * (1 + rng.normal(0, 0.08, n)),
                             173.0 * (1 + rng.normal(0, 0.09, n))))
    # the groomer sometimes drops soft wide-angle radiation: a low tail everywhere
    mass *= np.where(rng.random(n) < 0.1, rng.uniform(0.5, 0.9, n), 1.0)
    mass = np.clip(mass, 1.0, 400.0)

    # multiplicity
    mu = np.array([_JET_MULT[c] for c in JET_CLASSES])[y] * np.exp(0.5 * logr) * (pt / 1000)**0.3
    mult = rng.poisson(mu * rng.gamma(12.0, 1 / 12.0, n)) + 2

    # prong latents
    l2 = np.select([k == 1, k == 2, k == 3], [0.0, 1.5, 0.9]) + rng.normal(0, 0.8, n)
    l3 = np.select([k == 1, k == 2, k == 3], [0.0, 0.1, 1.4]) + rng.normal(0, 0.8, n)

    def ratio(scale, a2, a3, ar, noise):
        return scale * np.exp(-a2 * l2 - a3 * l3 + ar * logr + rng.normal(0, noise, n))

    x = np.empty((n, 16))
    x[:, 0] = mass
    x[:, 1] = mult
    x[:, 2] = -0.85 * np.log(mult) - 0.15 * logr + rng.normal(0, 0.12, n)
    x[:, 3] = np.clip(0.62 - 0.13 * l2 + 0.08 * logr + rng.normal(0, 0.05, n), 0.02, 1.0)
    x[:, 4] = np.clip(0.78 - 0.11 * l3 + 0.05 * logr + rng.normal(0, 0.05, n), 0.02, 1.0)
    x[:, 5] = 1 - 1.8 / mult**0.75 * np.exp(rng.normal(0, 0.1, n))
    x[:, 6] = (mass / pt) * 0.55 * np.exp(0.35 * logr + rng.normal(0, 0.08, n))
    x[:, 7] = (mass / pt)**2 * 0.3 * np.exp(0.2 * logr + rng.normal(0, 0.1, n))
    x[:, 8] = ratio(0.30, 0.30, 0.05, 0.25, 0.12)
    x[:, 9] = ratio(0.25, 0.35, 0.05, 0.20, 0.15)
    x[:, 10] = ratio(2.50, 0.45, 0.10, 0.30, 0.15)
    x[:, 11] = ratio(2.00, 0.50, 0.10, 0.25, 0.18)
    x[:, 12] = ratio(1.50, 0.40, 0.15, 0.25, 0.18)
    x[:, 13] = ratio(0.10, 0.12, 0.05, 0.45, 0.15)
    x[:, 14] = ratio(0.30, 0.35, 0.00, 0.20, 0.15)
    x[:, 15] = ratio(0.25, 0.40, 0.00, 0.20, 0.18)
    return x, y


@functools.cache
def _jet_norm() -> tuple[np.ndarray, np.ndarray]:
    x, _ = _jet_raw(REFERENCE_SIZE, np.random.default_rng(REFERENCE_SEED))
    return x.mean(axis=0), x.std(axis=0)


def jet_features(n: int, seed: int = 0, standardize: bool = True
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` toy jets: features (n, 16) float32 and labels (n,) int64 in
    ``JET_CLASSES`` order (g, q, W, Z, t; balanced on average).

    Features are in ``JET_FEATURES`` order. With ``standardize`` (the default,
    as in the hls4ml dataset's StandardScaler) each feature has mean 0 and
    standard deviation 1 over the (balanced) reference sample; otherwise the
    physical values are returned (mass in GeV, multiplicity as a count).
    A well-trained 16-64-32-32-5 MLP reaches about 75 % accuracy: tops are
    tagged well (mass + tau32), W and Z are mostly confused with each other,
    and quark vs gluon is a soft separation (multiplicity, width).
    """
    x, y = _jet_raw(int(n), np.random.default_rng(seed))
    if standardize:
        mean, std = _jet_norm()
        x = (x - mean) / std
    return x.astype(np.float32), y.astype(np.int64)


# =============================================================================
# 2. Calorimeter-tower images of boosted jets
# =============================================================================

CALO_CLASSES = ("QCD", "W", "t")
CALO_SHAPE = (1, 8, 8)       # channels, eta, phi
CALO_LARGE_SHAPE = (1, 16, 16)
TOWER = 0.1                  # tower size in eta and phi (an L1 trigger-tower grid)


def _prongs(n: int, y: np.ndarray, pt: np.ndarray, rng: np.random.Generator):
    """Hard prongs: positions (n, 3, 2) in (eta, phi) relative to the jet axis and
    pT fractions (n, 3) (0 for absent prongs)."""
    theta = rng.uniform(0, 2 * np.pi, n)      # orientation of the decay plane
    d = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    dperp = np.stack([-d[:, 1], d[:, 0]], axis=1)
    pos = np.zeros((n, 3, 2))
    frac = np.zeros((n, 3))

    # QCD: a leading parton; with probability 0.6 a hard-ish collinear splitting
    # (z from a 1/z-like spectrum on [0.05, 0.5], angle from a lognormal jet mass
    # around 45 GeV), and with probability 0.3 a second, softer emission.
    z = 0.05 * 10**rng.random(n)
    split = rng.random(n) < 0.6
    m = np.exp(rng.normal(np.log(45.0), 0.6, n))
    dr = np.clip(m / (pt * np.sqrt(z * (1 - z))), 0.0, 0.8)
    qcd = (y == 0)
    f0 = np.where(split, 1 - z, 1.0)
    f1 = np.where(split, z, 0.0)
    p0 = -(f1 * dr)[:, None] * d           # pT-weighted centroid at the origin
    p1 = (f0 * dr)[:, None] * d
    z2 = 0.05 * 10**(rng.random(n) * 0.7) * (rng.random(n) < 0.3)
    ang = rng.uniform(0, 2 * np.pi, n)
    p2 = p0 + rng.uniform(0.1, 0.4, n)[:, None] * np.stack([np.cos(ang), np.sin(ang)], 1)
    pos[qcd, 0], pos[qcd, 1], pos[qcd, 2] = p0[qcd], p1[qcd], p2[qcd]
    frac[qcd, 0], frac[qcd, 1], frac[qcd, 2] = (f0 * (1 - z2))[qcd], f1[qcd], (f0 * z2)[qcd]

    # W -> qq: two prongs, z ~ U(0.1, 0.9) (grooming removes very asymmetric
    # decays), opening angle 2 m_W / pT / (2 sqrt(z(1-z))).
    w = (y == 1)
    zw = rng.uniform(0.1, 0.9, n)
    mw = 80.4 * (1 + rng.normal(0, 0.08, n))
    drw = mw / (pt * np.sqrt(zw * (1 - zw)))
    pos[w, 0] = (-(1 - zw) * drw)[w, None] * d[w]
    pos[w, 1] = (zw * drw)[w, None] * d[w]
    frac[w, 0], frac[w, 1] = zw[w], 1 - zw[w]

    # t -> b W(-> qq): first the b/W split, then the W's two quarks.
    t = (y == 2)
    zb = rng.uniform(0.1, 0.6, n)
    mt = 173.0 * (1 + rng.normal(0, 0.05, n))
    drt = np.clip(mt / (pt * np.sqrt(zb * (1 - zb))), 0.0, 1.2)
    b_pos = (-(1 - zb) * drt)[:, None] * d
    w_pos = (zb * drt)[:, None] * d
    zq = rng.uniform(0.1, 0.9, n)
    ptw = (1 - zb) * pt
    drq = mw / (ptw * np.sqrt(zq * (1 - zq)))
    phi2 = rng.uniform(0, 2 * np.pi, n)
    d2 = np.cos(phi2)[:, None] * d + np.sin(phi2)[:, None] * dperp
    q1 = w_pos - ((1 - zq) * drq)[:, None] * d2
    q2 = w_pos + (zq * drq)[:, None] * d2
    pos[t, 0], pos[t, 1], pos[t, 2] = b_pos[t], q1[t], q2[t]
    frac[t, 0], frac[t, 1], frac[t, 2] = zb[t], ((1 - zb) * zq)[t], ((1 - zb) * (1 - zq))[t]
    return pos, frac


def calo_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` toy calorimeter images (n, 1, 8, 8) float32 and labels (n,) int64 in
    ``CALO_CLASSES`` order (QCD, W, t; balanced on average).

    An image is the 8x8 block of 0.1 x 0.1 (eta x phi) trigger towers centred on
    a jet's pT-weighted axis (as provided by the L1 jet finder), jet pT ~
    U(500, 1000) GeV. Each tower holds its transverse energy divided by pT/4
    (so a tower with the whole jet reads 4.0): the image is normalised upstream.

    Generation: hard prongs (QCD: one parton, 60 % with a hard collinear
    splitting whose angle follows a ~45 GeV lognormal jet mass, 30 % with a
    further soft emission; W: two quarks, z in [0.1, 0.9], separated by
    m_W / (pT sqrt(z(1-z))); top: b + W, then W -> two quarks, about 2 m_t / pT
    wide and often not fully contained in the window); each prong fragments
    into 1 + min(Poisson(4), 5) particles with Dirichlet pT shares and a 0.05
    angular spread; 8 % (QCD: 15 %) of the pT goes to soft wide-angle
    radiation; each particle's energy is shared bilinearly between the four
    nearest towers (shower spread); then pile-up noise (half the towers get
    Exp(2 GeV)) and 0.5 GeV tower energy quantisation. Energy falling outside
    the window is lost. A 2.3k-parameter CNN reaches about 86 % accuracy.
    """
    return _calo_window(n, seed, CALO_SHAPE[-1])


def calo_images_large(n: int, seed: int = 0, size: int = CALO_LARGE_SHAPE[-1]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` toy calorimeter images (n, 1, size, size) float32 (default 16x16)
    and labels (n,) int64 in ``CALO_CLASSES`` order: the jets of
    ``calo_images`` seen through a wider window of the same 0.1 x 0.1 towers.

    Same generation and normalisation as ``calo_images`` (the same latent jets
    for the same ``seed``); the 1.6 x 1.6 window contains the wide prongs (a
    top at low pT, a wide-angle QCD splitting) and more of the soft radiation,
    and also more pile-up towers. For the streaming reference model
    (``models/calo_cnn``).
    """
    if not isinstance(size, (int, np.integer)) or size < 2:
        raise ValueError(f"size must be an integer of at least 2, not {size!r}")
    return _calo_window(n, seed, int(size))


def _calo_window(n: int, seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The generator of ``calo_images`` (see there) on a size x size tower window."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CALO_CLASSES), n).astype(np.int64)
    pt = rng.uniform(500.0, 1000.0, n)
    pos, frac = _prongs(n, y, pt, rng)

    soft = np.where(y == 0, 0.15, 0.08)
    k_frag = 6
    shares = rng.dirichlet(np.full(k_frag, 0.7), (n, 3))                  # (n, 3, 6)
    alive = np.arange(k_frag)[None, None, :] <= rng.poisson(4.0, (n, 3, 1))
    shares = shares * alive
    shares /= shares.sum(axis=2, keepdims=True)
    ppos = pos[:, :, None, :] + rng.normal(0, 0.05, (n, 3, k_frag, 2))
    pe = ((1 - soft)[:, None] * frac)[:, :, None] * shares                # (n, 3, 6)
    n_soft = 10
    spos = rng.normal(0, 0.25, (n, n_soft, 2))
    se = soft[:, None] * rng.dirichlet(np.ones(n_soft), n)
    all_pos = np.concatenate([ppos.reshape(n, -1, 2), spos], axis=1)
    all_e = np.concatenate([pe.reshape(n, -1), se], axis=1) * pt[:, None]

    # bilinear deposit into the size x size grid (8x8: tower centres at -0.35 ... 0.35)
    g = (all_pos + size * TOWER / 2) / TOWER - 0.5
    i0 = np.floor(g).astype(int)
    w1 = g - i0
    n_towers = size * size
    img = np.zeros(n * n_towers)
    rows = np.arange(n)[:, None] * n_towers
    for di in (0, 1):
        for dj in (0, 1):
            ii, jj = i0[..., 0] + di, i0[..., 1] + dj
            wgt = (w1[..., 0] if di else 1 - w1[..., 0]) * (w1[..., 1] if dj else 1 - w1[..., 1])
            ok = (ii >= 0) & (ii < size) & (jj >= 0) & (jj < size)
            img += np.bincount((rows + ii * size + jj)[ok], (all_e * wgt)[ok],
                               minlength=n * n_towers)
    img = img.reshape(n, n_towers)
    img += rng.exponential(2.0, img.shape) * (rng.random(img.shape) < 0.5)
    img = np.floor(img / 0.5) * 0.5                                       # 0.5 GeV LSB
    img = img / (pt[:, None] / 4.0)
    return img.reshape(n, 1, size, size).astype(np.float32), y


# =============================================================================
# 3. Event-level L1 quantities for anomaly detection
# =============================================================================

L1_FEATURES = (
    "met",       # 0  missing transverse energy [GeV]
    "ht",        # 1  scalar sum of jet pT (jets above 30 GeV) [GeV]
    "n_jets",    # 2  number of jets above 30 GeV
    "jet1_pt",   # 3  leading jet pT [GeV] (0 when absent)
    "jet1_eta",  # 4  leading jet eta (0 when absent)
    "jet2_pt",   # 5
    "jet2_eta",  # 6
    "jet3_pt",   # 7
    "tau2_pt",   # 8  second L1 hadronic-tau candidate pT [GeV] (above 20 GeV, else 0)
    "eg1_pt",    # 9  leading e/gamma pT [GeV] (above 10 GeV, else 0)
    "eg1_eta",   # 10
    "eg2_pt",    # 11
    "mu1_pt",    # 12 leading muon pT [GeV] (above 5 GeV, else 0)
    "mu1_eta",   # 13
    "mu2_pt",    # 14
    "tau1_pt",   # 15 leading L1 hadronic-tau candidate pT [GeV] (above 20 GeV, else 0)
)
_L1_PT = np.array([1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1], dtype=bool)

# Background: what fires a loose L1 pre-selection, dominated by QCD multijets.
L1_BACKGROUNDS = {"qcd": 0.89, "w_lnu": 0.07, "z_ll": 0.025, "ttbar": 0.015}
# Signals of the ADC2021 challenge (masses as there).
L1_SIGNALS = ("A_4l", "LQ_btau", "h0_tautau", "hpm_taunu")


class _Event:
    """Vectorised bag of objects: up to 6 jets, 3 e/gamma, 3 muons, 2 taus."""

    def __init__(self, n, rng):
        self.n, self.rng = n, rng
        self.jets = np.zeros((n, 6, 2))
        self.egs = np.zeros((n, 3, 2))
        self.mus = np.zeros((n, 3, 2))
        self.taus = np.zeros((n, 2, 2))
        self.met_true = np.zeros(n)

    def eta(self, shape, width=1.4, cut=2.5):
        return np.clip(self.rng.normal(0, width, shape), -cut, cut)

    def add(self, kind, pt, eta=None, mask=None):
        """Put objects (pt, eta), shape (n, k), into the first free slots."""
        store = getattr(self, kind)
        pt = np.atleast_2d(pt.T).T if pt.ndim == 1 else pt
        eta = self.eta(pt.shape) if eta is None else (np.atleast_2d(eta.T).T if eta.ndim == 1
                                                         else eta)
        if mask is not None:
            pt = pt * mask[:, None]
        for j in range(pt.shape[1]):
            free = np.argmax(store[:, :, 0] == 0, axis=1)
            has_free = store[np.arange(self.n), free, 0] == 0
            ok = (pt[:, j] > 0) & has_free
            store[np.nonzero(ok)[0], free[ok], 0] = pt[ok, j]
            store[np.nonzero(ok)[0], free[ok], 1] = eta[ok, j]

    def underlying(self, mean_jets=0.6):
        """Soft QCD activity: extra jets with a falling spectrum."""
        nj = self.rng.poisson(mean_jets, self.n)
        pts = 30 * (1 + self.rng.pareto(3.5, (self.n, 4)))
        self.add("jets", pts * (np.arange(4)[None, :] < nj[:, None]))

    def features(self, thresholds=(30.0, 10.0, 5.0, 20.0)) -> np.ndarray:
        n, rng = self.n, self.rng
        out = np.zeros((n, 16))
        sorted_objs = {}
        for kind, thr in zip(("jets", "egs", "mus", "taus"), thresholds):
            objs = getattr(self, kind).copy()
            objs[..., 0] *= np.exp(rng.normal(0, 0.08, objs.shape[:2]))   # resolution
            objs[objs[..., 0] < thr] = 0.0
            order = np.argsort(-objs[..., 0], axis=1, kind="stable")
            sorted_objs[kind] = np.take_along_axis(objs, order[..., None], axis=1)
        j, e, m, t = (sorted_objs[k] for k in ("jets", "egs", "mus", "taus"))
        ht = j[..., 0].sum(axis=1)
        # MET: true MET (neutrinos) plus a Gaussian 2-D resolution ~ sqrt(sum ET)
        sumet = ht + e[..., 0].sum(1) + m[..., 0].sum(1) + t[..., 0].sum(1) + 40
        sigma = 0.7 * np.sqrt(sumet)
        phi = rng.uniform(0, 2 * np.pi, n)
        mx = self.met_true * np.cos(phi) + rng.normal(0, sigma)
        my = self.met_true * np.sin(phi) + rng.normal(0, sigma)
        out[:, 0] = np.hypot(mx, my)
        out[:, 1] = ht
        out[:, 2] = (j[..., 0] > 0).sum(axis=1)
        out[:, 3], out[:, 4] = j[:, 0, 0], j[:, 0, 1]
        out[:, 5], out[:, 6] = j[:, 1, 0], j[:, 1, 1]
        out[:, 7], out[:, 8] = j[:, 2, 0], t[:, 1, 0]
        out[:, 9], out[:, 10], out[:, 11] = e[:, 0, 0], e[:, 0, 1], e[:, 1, 0]
        out[:, 12], out[:, 13], out[:, 14] = m[:, 0, 0], m[:, 0, 1], m[:, 1, 0]
        out[:, 15] = t[:, 0, 0]
        return out


def _jacobian_pt(rng, mass, n, smear=0.1):
    """Lepton pT from a two-body decay at rest: the Jacobian peak at m/2."""
    cos = rng.uniform(-1, 1, n)
    return 0.5 * mass * np.sqrt(1 - cos**2) * (1 + rng.normal(0, smear, n)) + \
        rng.exponential(5.0, n)


def _l1_process(process: str, n: int, rng: np.random.Generator) -> np.ndarray:
    ev = _Event(n, rng)
    r = rng.random
    if process == "qcd":
        # 2 -> 2 hard scattering above the L1 threshold plus extra radiation;
        # leptons and taus are fakes or from heavy-flavour decays.
        lead = 30 * (1 + rng.pareto(3.0, n))
        ev.add("jets", np.stack([lead, lead * rng.uniform(0.4, 1.0, n)], axis=1),
               ev.eta((n, 2), 1.6))
        ev.underlying(1.0)
        ev.add("egs", 10 * (1 + rng.pareto(4.0, n)), mask=r(n) < 0.06)
        ev.add("mus", 5 * (1 + rng.pareto(3.5, n)), mask=r(n) < 0.05)
        ev.add("taus", lead * rng.uniform(0.3, 0.8, n), mask=r(n) < 0.06)
        ev.met_true = rng.exponential(4.0, n) * (r(n) < 0.2)               # semileptonic b
    elif process == "w_lnu":
        is_e = r(n) < 0.5
        lpt = _jacobian_pt(rng, 80.4, n)
        ev.add("egs", lpt, mask=is_e)
        ev.add("mus", lpt, mask=~is_e)
        ev.met_true = lpt * rng.uniform(0.8, 1.2, n)
        ev.underlying(0.7)
    elif process == "z_ll":
        is_e = r(n) < 0.5
        l1, l2 = _jacobian_pt(rng, 91.2, n), _jacobian_pt(rng, 91.2, n)
        pts = np.stack([l1, l2], axis=1)
        ev.add("egs", pts * is_e[:, None])
        ev.add("mus", pts * ~is_e[:, None])
        ev.underlying(0.7)
    elif process == "ttbar":
        ev.add("jets", 35 + rng.gamma(3.0, 18.0, (n, 4)), ev.eta((n, 4), 1.2))
        lep = r(n) < 0.45
        lpt = 25 + rng.gamma(2.0, 15.0, n)
        is_e = r(n) < 0.5
        ev.add("egs", lpt, mask=lep & is_e)
        ev.add("mus", lpt, mask=lep & ~is_e)
        ev.met_true = np.where(lep, lpt * rng.uniform(0.6, 1.4, n), rng.exponential(15.0, n))
        ev.underlying(0.5)
    elif process == "A_4l":
        # A (50 GeV) -> 4 leptons: here 2 electrons + 2 muons, soft and central
        ev.add("egs", rng.gamma(4.0, 4.5, (n, 2)) + 5, ev.eta((n, 2), 1.0))
        ev.add("mus", rng.gamma(4.0, 4.5, (n, 2)) + 3, ev.eta((n, 2), 1.0))
        ev.underlying(0.8)
    elif process == "LQ_btau":
        # leptoquark (80 GeV) -> b tau: a b jet + a tau (hadronic or leptonic) + MET
        ev.add("jets", _jacobian_pt(rng, 80.0, n) + 15, ev.eta(n, 1.0))
        had = r(n) < 0.65
        tpt = _jacobian_pt(rng, 80.0, n) * rng.uniform(0.5, 0.9, n)
        ev.add("taus", tpt + 10, mask=had)
        ev.add("jets", tpt + 10, mask=had)
        ev.add("mus", tpt, mask=~had & (r(n) < 0.5))
        ev.add("egs", tpt, mask=~had)
        ev.met_true = _jacobian_pt(rng, 80.0, n) * rng.uniform(0.2, 0.6, n)
        ev.underlying(0.8)
    elif process == "h0_tautau":
        # neutral scalar (60 GeV) -> tau tau, mostly hadronic taus
        t1 = _jacobian_pt(rng, 60.0, n) * rng.uniform(0.5, 0.95, n) + 8
        t2 = _jacobian_pt(rng, 60.0, n) * rng.uniform(0.5, 0.95, n) + 8
        ev.add("taus", np.stack([t1, t2], axis=1))
        ev.add("jets", np.stack([t1, t2], axis=1) * 1.1)
        ev.met_true = rng.gamma(2.0, 8.0, n)
        ev.underlying(0.8)
    elif process == "hpm_taunu":
        # charged scalar (60 GeV) -> tau nu: one tau and genuine MET
        tpt = _jacobian_pt(rng, 60.0, n) * rng.uniform(0.6, 0.95, n) + 8
        ev.add("taus", tpt)
        ev.add("jets", tpt * 1.1)
        ev.met_true = _jacobian_pt(rng, 60.0, n) * rng.uniform(0.7, 1.1, n)
        ev.underlying(0.8)
    else:
        raise ValueError(f"unknown process {process!r}; known: "
                         f"{('background', *L1_BACKGROUNDS, *L1_SIGNALS)}")
    return ev.features()


def _l1_transform(x: np.ndarray) -> np.ndarray:
    """Model inputs: log(1 + pT / 10 GeV) for the energies, eta and n_jets as is."""
    out = x.copy()
    out[:, _L1_PT] = np.log1p(x[:, _L1_PT] / 10.0)
    return out


@functools.cache
def _l1_norm() -> tuple[np.ndarray, np.ndarray]:
    x = _l1_transform(_l1_raw(REFERENCE_SIZE, REFERENCE_SEED, "background"))
    # floor on the width: the rarely-present objects (a second lepton) would
    # otherwise be blown up to tens of standard deviations
    return x.mean(axis=0), np.maximum(x.std(axis=0), 0.5)


def _l1_raw(n: int, seed: int, process: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if process != "background":
        return _l1_process(process, n, rng)
    names = list(L1_BACKGROUNDS)
    which = rng.choice(len(names), n, p=list(L1_BACKGROUNDS.values()))
    x = np.empty((n, 16))
    for i, name in enumerate(names):
        sel = which == i
        x[sel] = _l1_process(name, int(sel.sum()), rng)
    return x


def l1_events(n: int, seed: int = 0, process: str = "background",
              standardize: bool = True) -> np.ndarray:
    """``n`` toy L1 events (n, 16) float32 with the quantities ``L1_FEATURES``.

    ``process`` is ``"background"`` (the mixture ``L1_BACKGROUNDS``: QCD multijet
    with fake leptons and taus, W -> l nu with its Jacobian-peak lepton and MET,
    Z -> ll, ttbar with four jets), one of its components, or a signal of
    ``L1_SIGNALS``:

    * ``A_4l``: a 50 GeV scalar -> 4 soft central leptons (2 e + 2 mu), which
      the background almost never has: easy;
    * ``LQ_btau``: an 80 GeV leptoquark -> b tau: a jet, a tau or a lepton and
      some MET: looks like W + jets;
    * ``h0_tautau``: a 60 GeV scalar -> two hadronic taus (also seen as jets);
    * ``hpm_taunu``: a 60 GeV charged scalar -> tau nu: one tau and MET, the
      hardest to tell from W -> l nu and fake taus.

    Objects are smeared (8 % pT resolution), thresholded (jets 30, e/gamma 10,
    muons 5, taus 20 GeV), pT-ordered; MET has a sqrt(sum ET) resolution.
    With ``standardize`` (default) the energies are mapped to
    log(1 + pT/10 GeV) and every feature is standardised with the background
    reference sample's mean and standard deviation (floored at 0.5, so the
    features of rarely present objects stay within a few units): the model
    input. Otherwise the physical values are returned.
    """
    x = _l1_raw(int(n), seed, process)
    if standardize:
        mean, std = _l1_norm()
        x = (_l1_transform(x) - mean) / std
    return x.astype(np.float32)


# =============================================================================
# 4. HGCAL trigger-cell charges of one silicon module (ECON-T input)
# =============================================================================

HGCAL_SHAPE = (4, 4, 3)  # rows, columns, rhombus: the module's 48 trigger cells


def _hgcal_tc_xy() -> np.ndarray:
    """Trigger-cell centres (4, 4, 3, 2) in units of the cell pitch: the hexagonal
    module (side 4) is cut into three rhombi from its centre, each a 4x4 grid of
    rhombic cells along two of the hexagon's edge directions."""
    xy = np.zeros((*HGCAL_SHAPE, 2))
    grid = np.arange(4) + 0.5
    for k in range(3):
        a, b = np.deg2rad(120.0 * k), np.deg2rad(120.0 * k + 120.0)
        u, v = np.array([np.cos(a), np.sin(a)]), np.array([np.cos(b), np.sin(b)])
        xy[:, :, k] = grid[:, None, None] * u + grid[None, :, None] * v
    return xy


HGCAL_TC_XY = _hgcal_tc_xy()
_HGCAL_CELL_AREA = np.sqrt(3.0) / 2  # a rhombic cell of unit side


def hgcal_modules(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` toy HGCAL modules: the normalised trigger-cell charges (n, 4, 4, 3)
    float32 (channels last, cell centres ``HGCAL_TC_XY``; each module sums to 1,
    as the ECON-T encoder sees it) and the module's total charge (n,) float32 in
    MIP_T, which ECON-T transmits beside the encoded shape.

    A module is a hexagon of 48 trigger cells (three rhombi of 4x4 cells, side 4
    cell pitches, about 2 cm each). Per module: 0 to 3 showers (probabilities
    0.1, 0.55, 0.25, 0.1) centred uniformly in a disc of radius 5 (so showers
    next to the module leak in), with log-uniform energy in [3, 300] MIP_T and a
    transverse profile of a core (exponential, radius 0.35 pitch, 85 %) and a
    halo (radius 1.2 pitch, 15 %), the radius drawn per shower within +-30 %;
    each cell takes the profile at its centre times its area. Then pile-up
    (30 % of the cells get Exp(0.6 MIP_T)), Gaussian electronics noise
    (0.15 MIP_T), a zero floor and the trigger-cell charge LSB (0.25 MIP_T).
    An all-zero module stays zero (it has no normalised shape).
    """
    rng = np.random.default_rng(seed)
    n = int(n)
    k_max = 3
    n_showers = rng.choice(k_max + 1, n, p=[0.1, 0.55, 0.25, 0.1])
    alive = np.arange(k_max)[None, :] < n_showers[:, None]                 # (n, 3)
    r = 5.0 * np.sqrt(rng.random((n, k_max)))
    phi = rng.uniform(0, 2 * np.pi, (n, k_max))
    centre = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=-1)       # (n, 3, 2)
    energy = 3.0 * 100.0 ** rng.random((n, k_max)) * alive
    scale = rng.uniform(0.7, 1.3, (n, k_max))
    cells = HGCAL_TC_XY.reshape(-1, 2)                                   # (48, 2)
    dist = np.linalg.norm(cells[None, None] - centre[:, :, None], axis=-1)  # (n, 3, 48)
    core, halo = 0.35 * scale[..., None], 1.2 * scale[..., None]
    # exp(-d/r) / (2 pi r^2) integrates to one over the plane
    profile = (0.85 * np.exp(-dist / core) / (2 * np.pi * core**2)
               + 0.15 * np.exp(-dist / halo) / (2 * np.pi * halo**2))
    charge = np.einsum("ns,nsc->nc", energy, profile) * _HGCAL_CELL_AREA
    charge += rng.exponential(0.6, charge.shape) * (rng.random(charge.shape) < 0.3)
    charge += rng.normal(0.0, 0.15, charge.shape)
    charge = np.floor(np.maximum(charge, 0.0) / 0.25) * 0.25
    total = charge.sum(axis=1)
    shape = charge / np.where(total > 0, total, 1.0)[:, None]
    return shape.reshape(n, *HGCAL_SHAPE).astype(np.float32), total.astype(np.float32)


# =============================================================================
# 5. Jet constituents (per-object inputs of a Deep Sets tagger)
# =============================================================================

CONSTITUENT_FEATURES = ("pt_frac", "deta", "dphi")
N_CONSTITUENTS = 16
JET_RADIUS = 0.4
_CONST_MULT = {"g": 15.0, "q": 9.0, "W": 11.0, "Z": 12.0, "t": 16.0}  # before truncation
_CONST_PRONGS = {"g": 1, "q": 1, "W": 2, "Z": 2, "t": 3}
_CONST_SOFT = {"g": 0.35, "q": 0.2, "W": 0.1, "Z": 0.1, "t": 0.15}  # wide-angle share
_CONST_MASS = {"W": 80.4, "Z": 91.2, "t": 173.0}


def _prong_axes(y, pt, rng):
    """Prong axes (n, 3, 2) in (eta, phi) and pT fractions (n, 3) per class: one
    prong (with a hard splitting in 30 % of gluon jets), the W/Z's two prongs at
    opening angle 2m/pT/sqrt(z(1-z)), the top's three (b plus a W)."""
    n = len(y)
    theta = rng.uniform(0, 2 * np.pi, n)
    d = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    dperp = np.stack([-d[:, 1], d[:, 0]], axis=1)
    names = np.array(JET_CLASSES)[y]
    mass = np.array([_CONST_MASS.get(c, 0.0) for c in JET_CLASSES])[y]
    mass = mass * (1 + rng.normal(0, 0.08, n))
    z = rng.uniform(0.15, 0.85, n)
    gsplit = (names == "g") & (rng.random(n) < 0.3)
    z = np.where(gsplit, rng.uniform(0.05, 0.3, n), z)
    mass = np.where(gsplit, np.exp(rng.normal(np.log(40.0), 0.4, n)), mass)
    dr = np.clip(mass / (pt * np.sqrt(z * (1 - z))), 0.0, 0.7)
    frac = np.zeros((n, 3))
    pos = np.zeros((n, 3, 2))
    two = (names == "W") | (names == "Z") | gsplit
    frac[:, 0] = np.where(two, 1 - z, 1.0)
    frac[:, 1] = np.where(two, z, 0.0)
    pos[:, 0] = -(frac[:, 1] * dr)[:, None] * d
    pos[:, 1] = (frac[:, 0] * dr)[:, None] * d
    # top: a b quark (fraction zb) recoiling against a W that splits as above
    top = names == "t"
    zb = rng.uniform(0.2, 0.5, n)
    dr_bw = np.clip(173.0 / (pt * np.sqrt(zb * (1 - zb))), 0.0, 0.6) * 0.7
    dr_w = np.clip(80.4 / ((1 - zb) * pt * np.sqrt(z * (1 - z))), 0.0, 0.5)
    w_axis = (zb * dr_bw)[:, None] * d
    t_frac = np.stack([zb, (1 - zb) * (1 - z), (1 - zb) * z], axis=1)
    t_pos = np.stack([w_axis - dr_bw[:, None] * d,
                      w_axis - (z * dr_w)[:, None] * dperp,
                      w_axis + ((1 - z) * dr_w)[:, None] * dperp], axis=1)
    frac[top], pos[top] = t_frac[top], t_pos[top]
    return pos, frac


def jet_constituents(n: int, seed: int = 0, n_objects: int = N_CONSTITUENTS
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` toy jets as constituent lists: (n, n_objects, 3) float32 and labels
    (n,) int64 in ``JET_CLASSES`` order (g, q, W, Z, t; balanced on average).

    Features per constituent (``CONSTITUENT_FEATURES``): the pT fraction of the
    jet (0..1), and delta-eta, delta-phi from the pT-weighted jet axis (within the
    R = 0.4 cone, clipped to +-0.5). The ``n_objects`` hardest constituents are
    kept, sorted by pT; a jet with fewer has all-zero rows after its last one
    (zero padding, as an L1 PF-candidate list is sent).

    Latent model, per jet (pT ~ U(500, 1000) GeV): 1 (g, q), 2 (W, Z) or 3 (t)
    hard prongs at opening angles set by the mass (a gluon splits hard 30 % of the
    time); a gamma-Poisson constituent multiplicity around a class mean (gluons
    and tops highest, quarks lowest) of which a class-dependent share is soft
    wide-angle radiation; constituents share their prong's pT exponentially and
    scatter around its axis with a width that falls with their pT. W and Z differ
    only by their mass: the classes overlap as real jets do.
    """
    rng = np.random.default_rng(seed)
    n = int(n)
    k_max = 2 * n_objects
    y = rng.integers(0, len(JET_CLASSES), n)
    pt = rng.uniform(500.0, 1000.0, n)
    pos, frac = _prong_axes(y, pt, rng)
    n_prongs = np.array([_CONST_PRONGS[c] for c in JET_CLASSES])[y]
    mu = np.array([_CONST_MULT[c] for c in JET_CLASSES])[y]
    mult = np.clip(rng.poisson(mu * rng.gamma(8.0, 1 / 8.0, n)) + n_prongs, 1, k_max)
    alive = np.arange(k_max)[None, :] < mult[:, None]
    soft = (rng.random((n, k_max)) < np.array([_CONST_SOFT[c] for c in JET_CLASSES])[y, None])
    # every prong gets its leading constituent first; the rest pick a prong by pT share
    cum = np.cumsum(frac / frac.sum(1, keepdims=True), 1)[:, None]
    pick = (rng.random((n, k_max, 1)) > cum).sum(-1).clip(0, 2)
    lead = np.arange(k_max)[None, :] < n_prongs[:, None]
    pick = np.where(lead, np.arange(k_max)[None, :].clip(0, 2), pick)
    soft &= ~lead
    share = rng.exponential(1.0, (n, k_max)) * np.where(lead, 4.0, 1.0) * alive
    share = np.where(soft, 0.0, share)
    prong_sum = np.stack([(share * (pick == j)).sum(1) for j in range(3)], 1)
    zc = share / np.take_along_axis(np.where(prong_sum > 0, prong_sum, 1), pick, 1)
    zc = zc * np.take_along_axis(frac, pick, 1) * 0.9  # hard part carries 90 % of pT
    soft_pt = rng.exponential(1.0, (n, k_max)) * soft * alive
    zc += 0.1 * soft_pt / np.maximum(soft_pt.sum(1, keepdims=True), 1e-9)
    zc /= zc.sum(1, keepdims=True)
    width = 0.01 + 0.03 / np.sqrt(np.maximum(zc * pt[:, None], 1.0) / 10.0)
    xy = np.take_along_axis(pos, pick[..., None], 1) + rng.normal(0, 1, (n, k_max, 2)) * \
        width[..., None]
    wide = JET_RADIUS * np.sqrt(rng.random((n, k_max)))
    ang = rng.uniform(0, 2 * np.pi, (n, k_max))
    xy = np.where(soft[..., None], np.stack([wide * np.cos(ang), wide * np.sin(ang)], -1), xy)
    xy -= (zc[..., None] * xy).sum(1, keepdims=True)  # the pT-weighted axis at 0
    zc = np.where(alive, zc, 0.0)
    order = np.argsort(-zc, axis=1, kind="stable")[:, :n_objects]
    x = np.concatenate([np.take_along_axis(zc, order, 1)[..., None],
                        np.clip(np.take_along_axis(xy, order[..., None], 1), -0.5, 0.5)], -1)
    x[np.take_along_axis(zc, order, 1) == 0] = 0.0  # padding: all-zero rows
    return x.astype(np.float32), y.astype(np.int64)


# =============================================================================
# Figures of merit
# =============================================================================

def roc_auc(background_scores, signal_scores) -> float:
    """Area under the ROC curve: P(signal score > background score), ties
    counted one half (Mann-Whitney U), exact for discrete (quantised) scores."""
    b = np.asarray(background_scores, dtype=np.float64).ravel()
    s = np.asarray(signal_scores, dtype=np.float64).ravel()
    allv = np.concatenate([b, s])
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(len(allv))
    sorted_v = allv[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_v, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    u = ranks[len(b):].sum() - len(s) * (len(s) + 1) / 2
    return float(u / (len(b) * len(s)))


def efficiency_at_rate(background_scores, signal_scores, rate: float
                       ) -> tuple[float, float, float]:
    """Signal efficiency of the trigger ``score > threshold``, with the lowest
    threshold (among the observed background scores) whose background
    acceptance is at most ``rate``. Returns (efficiency, threshold, achieved
    background acceptance); with quantised scores the achieved rate can be
    below ``rate``."""
    b = np.sort(np.asarray(background_scores, dtype=np.float64).ravel())
    s = np.asarray(signal_scores, dtype=np.float64).ravel()
    allowed = int(np.floor(rate * len(b)))
    # candidate thresholds: the background scores, highest first
    k = len(b) - allowed - 1
    thr = b[k] if k >= 0 else -np.inf
    acc = float(np.mean(b > thr))
    return float(np.mean(s > thr)), float(thr), acc
