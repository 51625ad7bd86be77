"""CLV fitting: BG/NBD and Gamma-Gamma with pymc-marketing, and whether a fit converged.

The settings, the fitted models (:class:`ClvFit`), the log-likelihoods and the convergence
checks (:func:`convergence_problem`: the optimizer's success flag and
``SHAPE_PARAMETER_RANGE``). What is computed from a fit (the scores, the parameter rows, the
metrics, the holdout) is in :mod:`touchpoint_alchemy.scoring.clv`, whose docstring describes the
models. pymc-marketing is imported inside the functions: importing it takes about 10 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from touchpoint_alchemy.scoring import InsufficientDataError, ModelFitError, fit_errors

#: days per time unit; a month is 365.25 / 12 days, as in pymc-marketing
TIME_UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 30.4375}

BG_NBD_PARAMETERS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMETERS = ("p", "q", "v")
#: the shape parameters of each model (the others, alpha and v, are scales in time or money)
SHAPE_PARAMETERS = {"bg_nbd": ("r", "a", "b"), "gamma_gamma": ("p", "q")}
#: a shape parameter outside this range means the fit ran to the edge of the parameter space:
#: a -> infinity with b (or p and q) means no heterogeneity, where the likelihood is flat and the
#: optimizer stops wherever its tolerance says (DECISIONLOG.md, 45). Published fits are of order
#: 0.1 to 10 (CDNOW: r 0.24, a 0.79, b 2.4, p 6.3, q 3.7).
SHAPE_PARAMETER_RANGE = (1e-3, 1e3)
#: the BG/NBD fit needs this many customers, the Gamma-Gamma fit this many with a positive spend
MIN_CUSTOMERS = 10
MIN_SPENDING_REPEAT_CUSTOMERS = 5
#: a MAP fit of fewer rows than this compiles its log-likelihood with pytensor's FAST_COMPILE
#: mode: few graph rewrites and no code generation, about 2 to 6 s less per fit, while each
#: evaluation is slower; on more rows the default mode's compiled code wins (DECISIONLOG 171)
FAST_COMPILE_MAX_ROWS = 150_000

TimeUnit = Literal["day", "week", "month"]
Method = Literal["map", "mcmc"]


@dataclass(frozen=True)
class ClvSettings:
    """How CLV is fitted. The defaults are the documented ones (docs/scoring.md)."""

    time_unit: TimeUnit = "week"
    monthly_discount_rate: float = 0.01
    method: Method = "map"
    holdout_days: int = 90
    seed: int = 42
    draws: int = 1000
    tune: int = 1000
    chains: int = 2

    def __post_init__(self) -> None:
        if self.time_unit not in TIME_UNIT_DAYS:
            raise ValueError(f"time_unit must be one of {sorted(TIME_UNIT_DAYS)}")
        if self.method not in ("map", "mcmc"):
            raise ValueError("method must be 'map' or 'mcmc'")
        if self.monthly_discount_rate < 0:
            raise ValueError("monthly_discount_rate must be >= 0")
        if self.holdout_days <= 0:
            raise ValueError("holdout_days must be a positive number of days")

    @property
    def unit_days(self) -> float:
        return TIME_UNIT_DAYS[self.time_unit]


@dataclass
class ClvFit:
    """Fitted BG/NBD and Gamma-Gamma models with their point estimates."""

    transaction_model: Any
    spend_model: Any
    parameters: dict[str, dict[str, float]]
    log_likelihood: dict[str, float]
    n_customers: dict[str, int]
    method: str
    #: model -> why its fit cannot be trusted (None: converged); see convergence_problem
    convergence: dict[str, str | None] = field(default_factory=dict)
    #: model -> the optimizer's own report, e.g. "L-BFGS-B: CONVERGENCE: ... (35 iterations)"
    optimizer: dict[str, str] = field(default_factory=dict)
    #: user_ids of the repeat customers left out of the Gamma-Gamma fit (mean repeat spend <= 0)
    excluded_from_spend: tuple[str, ...] = ()
    #: parameter -> its posterior draws, chains one after the other (MAP: the point)
    draws: dict[str, np.ndarray] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def population_mean_spend(self) -> float:
        """The Gamma-Gamma mean spend of a customer the model knows nothing about, p*v/(q-1)."""
        gg = self.parameters["gamma_gamma"]
        return gg["p"] * gg["v"] / (gg["q"] - 1)


def spending_repeat_customers(summary: pd.DataFrame) -> pd.Series:
    """True for the customers the Gamma-Gamma model is fitted on: a repeat purchase and a
    positive mean repeat spend (NaN is not positive)."""
    return (summary["frequency"] > 0) & (summary["monetary_value"] > 0)


def bg_nbd_log_likelihood(
    summary: pd.DataFrame, r: float, alpha: float, a: float, b: float
) -> float:
    """Total BG/NBD log-likelihood (Fader, Hardie & Lee 2005, equation 6)."""
    from scipy.special import betaln, gammaln

    x = summary["frequency"].to_numpy(float)
    t_x = summary["recency"].to_numpy(float)
    big_t = summary["t"].to_numpy(float)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) + common - (r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = (
            betaln(a + 1, np.maximum(b + x - 1, 1e-12))
            - betaln(a, b)
            + common
            - (r + x) * np.log(alpha + t_x)
        )
    dropped = np.where(x > 0, dropped, -np.inf)
    return float(np.logaddexp(alive, dropped).sum())


def gamma_gamma_log_likelihood(summary: pd.DataFrame, p: float, q: float, v: float) -> float:
    """Total Gamma-Gamma log-likelihood of the mean repeat spend of the repeat customers with a
    positive mean spend, the customers it is fitted on (Fader & Hardie 2013, "The Gamma-Gamma
    Model of Monetary Value", equation 1)."""
    from scipy.special import gammaln

    repeat = summary[spending_repeat_customers(summary)]
    x = repeat["frequency"].to_numpy(float)
    z = repeat["monetary_value"].to_numpy(float)
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(z)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * z)
    )
    return float(ll.sum())


def model_frame(summary: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": summary["user_id"].to_numpy(),
            "frequency": summary["frequency"].to_numpy("int64"),
            "recency": summary["recency"].to_numpy(float),
            "T": summary["t"].to_numpy(float),
            "monetary_value": summary["monetary_value"].to_numpy(float),
        }
    )


class RecordingOptimizer:
    """scipy's L-BFGS-B, pymc's ``find_MAP`` default, as a custom ``method`` of
    ``scipy.optimize.minimize`` that keeps the ``OptimizeResult``: pymc-marketing's MAP fit
    returns the point only, and the success flag and message are what tell a converged fit from
    one that stopped. ``result`` stays None when ``find_MAP`` stopped the optimizer at its
    evaluation limit (it raises StopIteration through it)."""

    name = "L-BFGS-B"

    def __init__(self) -> None:
        self.result: Any = None
        self.calls = 0

    def __call__(self, fun, x0, args=(), jac=None, callback=None, **_: Any):
        from scipy import optimize

        self.calls += 1
        self.result = None
        result = optimize.minimize(fun, x0, args=args, jac=jac, method=self.name, callback=callback)
        self.result = result
        return result

    def report(self) -> str:
        if self.result is None:
            return f"{self.name}: stopped at pymc's limit of 5000 log-likelihood evaluations"
        status = "converged" if self.result.success else "did not converge"
        message = str(self.result.message).strip().rstrip(":")
        return f"{self.name} {status}: {message} ({self.result.nit} iterations)"


def convergence_problem(
    model: str, point: dict[str, float], optimizer: RecordingOptimizer | None
) -> str | None:
    """Why the fit of ``model`` ('bg_nbd' or 'gamma_gamma') cannot be taken as a clean maximum
    likelihood estimate, or None: the optimizer did not report success (MAP), or a shape
    parameter lies outside SHAPE_PARAMETER_RANGE."""
    problems = []
    if optimizer is not None and (optimizer.result is None or not optimizer.result.success):
        problems.append(optimizer.report())
    low, high = SHAPE_PARAMETER_RANGE
    outside = [
        f"{name} = {point[name]:.3g}"
        for name in SHAPE_PARAMETERS[model]
        if not low <= point[name] <= high
    ]
    if outside:
        problems.append(
            f"{', '.join(outside)} outside [{low:g}, {high:g}]: the fit ran to the edge of the "
            "parameter space, where the likelihood is flat and the values are arbitrary"
        )
    return "; ".join(problems) or None


def keep_generated_source() -> None:
    """Write the Python source pytensor's numba backend generates for each compiled function
    into one directory under pytensor's compile cache, named by content, rather than a new file
    in the system temporary directory per function, which nothing ever removes (130-400 files a
    test run left in ``/tmp``). pytensor reuses the file of the same source, and when the process
    exits it removes the files unused for a month. A directory set by the user
    (``PYTENSOR_FLAGS=generated_src_dir=...``) is kept."""
    from pathlib import Path

    import pytensor

    if not pytensor.config.generated_src_dir:
        pytensor.config.generated_src_dir = str(Path(pytensor.config.compiledir) / "generated_src")


def import_pymc_marketing() -> None:
    """Import pymc-marketing's CLV models, as a process's first fit does, with lazy_loader's
    handling of modules that are not installed made cheap first
    (:func:`touchpoint_alchemy.scoring.lazy_imports.record_missing_lazy_modules_cheaply`). For the
    warm-up (orchestration/warmup.py); a fit calls it itself."""
    from touchpoint_alchemy.scoring.lazy_imports import record_missing_lazy_modules_cheaply

    record_missing_lazy_modules_cheaply()
    import pymc_marketing.clv  # noqa: F401


def load_compiler() -> None:
    """Load what a process's first fit loads besides pymc-marketing: pytensor's numba backend and
    numba's typing and lowering registries (about 0.5 s of the first demo fit in a process). For
    a warm-up before the fit (orchestration/warmup.py, DECISIONLOG 136); a fit does it itself."""
    keep_generated_source()
    import pytensor.compile.debug.debugmode  # noqa: F401
    import pytensor.link.c.cvm  # noqa: F401
    import pytensor.link.numba.cache  # noqa: F401
    import pytensor.link.numba.dispatch  # noqa: F401
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()
    cpu_target.typing_context.refresh()


def map_compile_mode(n_rows: int, method: str) -> str | None:
    """The pytensor mode a fit of ``n_rows`` rows compiles with: "FAST_COMPILE" for a MAP fit
    of fewer than ``FAST_COMPILE_MAX_ROWS`` rows, else None (pytensor's own, also when a mode is
    set through ``PYTENSOR_FLAGS``). The optimum is the same to about 1e-9 relative either way;
    sampling (MCMC) evaluates the model thousands of times, so it keeps the compiled code."""
    import pytensor

    if method != "map" or n_rows >= FAST_COMPILE_MAX_ROWS or pytensor.config.mode != "Mode":
        return None
    return "FAST_COMPILE"


def fit_model(
    model_class: Any,
    names: tuple[str, ...],
    data: pd.DataFrame,
    settings: ClvSettings,
    label: str,
) -> tuple[Any, dict[str, float], RecordingOptimizer | None]:
    """Fit one pymc-marketing model; returns it, its point estimates and (MAP) the optimizer."""
    import warnings

    import pytensor
    from pymc.exceptions import SamplingError
    from pymc_extras.prior import Prior

    keep_generated_source()
    optimizer = RecordingOptimizer() if settings.method == "map" else None
    mode = map_compile_mode(len(data), settings.method)
    flags = pytensor.config.change_flags(**({"mode": mode} if mode else {}))
    with warnings.catch_warnings(), fit_errors(label, SamplingError), flags:
        warnings.simplefilter("ignore")
        if optimizer is not None:
            model = model_class(model_config={name: Prior("HalfFlat") for name in names})
            model.fit(
                data=data,
                method="map",
                progressbar=False,
                random_seed=settings.seed,
                map_kwargs={"method": optimizer},
            )
        else:
            model = model_class()
            model.fit(
                data=data,
                method="mcmc",
                progressbar=False,
                random_seed=settings.seed,
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                cores=1,
            )
    posterior = model.fit_result
    point = {name: float(posterior[name].mean()) for name in names}
    if not all(np.isfinite(value) for value in point.values()):
        raise ModelFitError(f"{label}: the fit ended at non-finite parameters {point}")
    return model, point, optimizer


def fit_clv(summary: pd.DataFrame, settings: ClvSettings | None = None) -> ClvFit:
    """Fit BG/NBD on every customer and Gamma-Gamma on the repeat customers with a positive
    mean repeat spend."""
    import_pymc_marketing()
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    settings = settings or ClvSettings()
    data = model_frame(summary)
    spending = spending_repeat_customers(summary).to_numpy()
    repeat = data["frequency"].to_numpy() > 0
    if len(data) < MIN_CUSTOMERS:
        raise InsufficientDataError(
            f"CLV needs at least {MIN_CUSTOMERS} customers, got {len(data)}"
        )
    if spending.sum() < MIN_SPENDING_REPEAT_CUSTOMERS:
        raise InsufficientDataError(
            f"CLV needs at least {MIN_SPENDING_REPEAT_CUSTOMERS} customers with a repeat "
            f"purchase and a positive mean repeat spend (Gamma-Gamma), got {spending.sum()} "
            f"(of {repeat.sum()} repeat customers)"
        )
    transactions, bg, bg_optimizer = fit_model(
        BetaGeoModel, BG_NBD_PARAMETERS, data, settings, "bg_nbd"
    )
    spend_data = data.loc[spending, ["customer_id", "frequency", "monetary_value"]]
    spend, gg, gg_optimizer = fit_model(
        GammaGammaModel, GAMMA_GAMMA_PARAMETERS, spend_data, settings, "gamma_gamma"
    )
    if gg["q"] <= 1:
        raise ModelFitError(
            f"gamma_gamma: q = {gg['q']:.4g} <= 1, so the model's mean spend p*v/(q-1) is not "
            "finite and customers without repeat spend have no expected order value"
        )
    optimizers = {"bg_nbd": bg_optimizer, "gamma_gamma": gg_optimizer}
    return ClvFit(
        transaction_model=transactions,
        spend_model=spend,
        parameters={"bg_nbd": bg, "gamma_gamma": gg},
        log_likelihood={
            "bg_nbd": bg_nbd_log_likelihood(summary, **bg),
            "gamma_gamma": gamma_gamma_log_likelihood(summary, **gg),
        },
        n_customers={"bg_nbd": len(data), "gamma_gamma": int(spending.sum())},
        method=settings.method,
        convergence={
            "bg_nbd": convergence_problem("bg_nbd", bg, bg_optimizer),
            "gamma_gamma": convergence_problem("gamma_gamma", gg, gg_optimizer),
        },
        optimizer={
            model: optimizer.report()
            for model, optimizer in optimizers.items()
            if optimizer is not None
        },
        excluded_from_spend=tuple(data.loc[repeat & ~spending, "customer_id"].astype(str)),
        draws={
            name: np.asarray(model.fit_result[name].values, dtype=float).reshape(-1)
            for model, names in ((transactions, BG_NBD_PARAMETERS), (spend, GAMMA_GAMMA_PARAMETERS))
            for name in names
        },
    )
