"""lm-eval-mtl: multi-task suites and citable composite scores for lm-evaluation-harness.

Importing the package is cheap: the public API below is loaded lazily on first
attribute access (PEP 562), because the start-up hook must not slow Python down.
Type checkers see the real definitions through the ``TYPE_CHECKING`` imports
(the package ships ``py.typed``); ``_API`` maps the same names to their modules
for the run-time loader, and ``tests/unit/test_public_api.py`` checks that the
two agree.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from lm_eval_mtl.affinity.render import affinity_tables as affinity_tables
    from lm_eval_mtl.affinity.render import plot_affinity as plot_affinity
    from lm_eval_mtl.affinity.render import plot_predicted as plot_predicted
    from lm_eval_mtl.affinity.render import predicted_tables as predicted_tables
    from lm_eval_mtl.affinity.result import AffinityMatrix as AffinityMatrix
    from lm_eval_mtl.affinity.result import AffinityMeasure as AffinityMeasure
    from lm_eval_mtl.affinity.result import ParameterInfo as ParameterInfo
    from lm_eval_mtl.affinity.result import ProjectionInfo as ProjectionInfo
    from lm_eval_mtl.affinity.result import TaskGradient as TaskGradient
    from lm_eval_mtl.affinity.result import load_affinity as load_affinity
    from lm_eval_mtl.affinity.run import gradient_affinity as gradient_affinity
    from lm_eval_mtl.affinity.run import write_affinity as write_affinity
    from lm_eval_mtl.analysis.columns import ExcludedColumn as ExcludedColumn
    from lm_eval_mtl.analysis.compare import CompositeDifference as CompositeDifference
    from lm_eval_mtl.analysis.compare import ModelComparison as ModelComparison
    from lm_eval_mtl.analysis.compare import PairComparison as PairComparison
    from lm_eval_mtl.analysis.compare import compare_runs as compare_runs
    from lm_eval_mtl.analysis.compare import paired_difference as paired_difference
    from lm_eval_mtl.analysis.correlate import CorrelationStudy as CorrelationStudy
    from lm_eval_mtl.analysis.correlate import correlate_tasks as correlate_tasks
    from lm_eval_mtl.analysis.imputation import Imputation as Imputation
    from lm_eval_mtl.analysis.predicted import PredictedTransfer as PredictedTransfer
    from lm_eval_mtl.analysis.predicted import RankAgreement as RankAgreement
    from lm_eval_mtl.analysis.predicted import predicted_transfer as predicted_transfer
    from lm_eval_mtl.analysis.transfer import MultiTaskGain as MultiTaskGain
    from lm_eval_mtl.analysis.transfer import TransferMatrix as TransferMatrix
    from lm_eval_mtl.analysis.transfer import transfer_from_scores as transfer_from_scores
    from lm_eval_mtl.analysis.transfer import transfer_matrix as transfer_matrix
    from lm_eval_mtl.demo.progress import LiveLine as LiveLine
    from lm_eval_mtl.demo.run import STEPS as DEMO_STEPS
    from lm_eval_mtl.demo.run import DemoContext as DemoContext
    from lm_eval_mtl.demo.run import DemoStep as DemoStep
    from lm_eval_mtl.demo.run import display_path as display_path
    from lm_eval_mtl.demo.run import run_demo as run_demo
    from lm_eval_mtl.demo.story import STORY_STEPS as DEMO_STORY_STEPS
    from lm_eval_mtl.errors import CorrelateOptionError as CorrelateOptionError
    from lm_eval_mtl.errors import DegenerateDataWarning as DegenerateDataWarning
    from lm_eval_mtl.errors import DemoError as DemoError
    from lm_eval_mtl.errors import FewClustersError as FewClustersError
    from lm_eval_mtl.errors import FewClustersWarning as FewClustersWarning
    from lm_eval_mtl.errors import IncompatibleRunsError as IncompatibleRunsError
    from lm_eval_mtl.errors import IncompatibleWeightsError as IncompatibleWeightsError
    from lm_eval_mtl.errors import InsufficientDataError as InsufficientDataError
    from lm_eval_mtl.errors import MissingExtraError as MissingExtraError
    from lm_eval_mtl.errors import MissingMetricError as MissingMetricError
    from lm_eval_mtl.errors import MissingTaskError as MissingTaskError
    from lm_eval_mtl.errors import MTLError as MTLError
    from lm_eval_mtl.errors import OutputPathError as OutputPathError
    from lm_eval_mtl.errors import PanelFormatError as PanelFormatError
    from lm_eval_mtl.errors import RefusedSchemeError as RefusedSchemeError
    from lm_eval_mtl.errors import ResourceLimitError as ResourceLimitError
    from lm_eval_mtl.errors import ResultsFormatError as ResultsFormatError
    from lm_eval_mtl.errors import SimProfileError as SimProfileError
    from lm_eval_mtl.errors import SimRunError as SimRunError
    from lm_eval_mtl.errors import SuiteSpecError as SuiteSpecError
    from lm_eval_mtl.errors import UnknownNameError as UnknownNameError
    from lm_eval_mtl.errors import WeightsFormatError as WeightsFormatError
    from lm_eval_mtl.errors import unknown_name as unknown_name
    from lm_eval_mtl.io import MetricKey as MetricKey
    from lm_eval_mtl.io import MetricValue as MetricValue
    from lm_eval_mtl.io import RunResult as RunResult
    from lm_eval_mtl.io import TaskResult as TaskResult
    from lm_eval_mtl.io import TaskSamples as TaskSamples
    from lm_eval_mtl.io import find_runs as find_runs
    from lm_eval_mtl.io import load_run as load_run
    from lm_eval_mtl.io import read_samples as read_samples
    from lm_eval_mtl.io.atomic import atomic_write_text as atomic_write_text
    from lm_eval_mtl.io.atomic import check_output_path as check_output_path
    from lm_eval_mtl.io.columns import DocFields as DocFields
    from lm_eval_mtl.io.runs import ModelFolder as ModelFolder
    from lm_eval_mtl.io.runs import find_model_runs as find_model_runs
    from lm_eval_mtl.jsonout import json_clean as json_clean
    from lm_eval_mtl.jsonout import json_dumps as json_dumps
    from lm_eval_mtl.jsonout import json_float as json_float
    from lm_eval_mtl.report.analysis import comparison_tables as comparison_tables
    from lm_eval_mtl.report.analysis import correlation_tables as correlation_tables
    from lm_eval_mtl.report.analysis import plot_transfer as plot_transfer
    from lm_eval_mtl.report.analysis import transfer_tables as transfer_tables
    from lm_eval_mtl.report.many import ManyScores as ManyScores
    from lm_eval_mtl.report.many import ModelComposite as ModelComposite
    from lm_eval_mtl.report.many import ModelRow as ModelRow
    from lm_eval_mtl.report.many import NotScored as NotScored
    from lm_eval_mtl.report.many import model_seed as model_seed
    from lm_eval_mtl.report.many import plot_many as plot_many
    from lm_eval_mtl.report.many import render_many as render_many
    from lm_eval_mtl.report.many import score_many as score_many
    from lm_eval_mtl.report.plots import write_composite_plots as write_composite_plots
    from lm_eval_mtl.report.render import composite_table as composite_table
    from lm_eval_mtl.report.render import render_composite as render_composite
    from lm_eval_mtl.report.tables import Table as Table
    from lm_eval_mtl.report.tables import printable as printable
    from lm_eval_mtl.report.tables import render_table as render_table
    from lm_eval_mtl.report.weights_plot import plot_weights as plot_weights
    from lm_eval_mtl.scoring.composite import score_run as score_run
    from lm_eval_mtl.scoring.interval import CompositeInterval as CompositeInterval
    from lm_eval_mtl.scoring.leaderboard import openllm_v2_average as openllm_v2_average
    from lm_eval_mtl.scoring.members import Member as Member
    from lm_eval_mtl.scoring.members import Members as Members
    from lm_eval_mtl.scoring.members import collect_members as collect_members
    from lm_eval_mtl.scoring.population import Population as Population
    from lm_eval_mtl.scoring.population import load_panel_csv as load_panel_csv
    from lm_eval_mtl.scoring.population import population_from_runs as population_from_runs
    from lm_eval_mtl.scoring.structural import resolve_weights as resolve_weights
    from lm_eval_mtl.scoring.types import CompositeScore as CompositeScore
    from lm_eval_mtl.scoring.types import IntervalSource as IntervalSource
    from lm_eval_mtl.scoring.types import TaskScore as TaskScore
    from lm_eval_mtl.scoring.types import WeightsInfo as WeightsInfo
    from lm_eval_mtl.scoring.weighting import SchemeContext as SchemeContext
    from lm_eval_mtl.scoring.weighting import SchemeRegistry as SchemeRegistry
    from lm_eval_mtl.scoring.weighting import WeightingScheme as WeightingScheme
    from lm_eval_mtl.scoring.weighting import fit_weights as fit_weights
    from lm_eval_mtl.scoring.weighting import register_scheme as register_scheme
    from lm_eval_mtl.scoring.weighting import scheme_registry as scheme_registry
    from lm_eval_mtl.scoring.weights import resolve as resolve_weights_with_info
    from lm_eval_mtl.scoring.weights_file import Normalization as Normalization
    from lm_eval_mtl.scoring.weights_file import PercentileTable as PercentileTable
    from lm_eval_mtl.scoring.weights_file import PopulationProvenance as PopulationProvenance
    from lm_eval_mtl.scoring.weights_file import WeightsFile as WeightsFile
    from lm_eval_mtl.scoring.weights_file import list_shipped_weights as list_shipped_weights
    from lm_eval_mtl.scoring.weights_file import load_weights as load_weights
    from lm_eval_mtl.scoring.weights_file import save_weights as save_weights
    from lm_eval_mtl.sim.runner import SimRuns as SimRuns
    from lm_eval_mtl.stats._common import ConfidenceInterval as ConfidenceInterval
    from lm_eval_mtl.stats.bootstrap import BootstrapResult as BootstrapResult
    from lm_eval_mtl.stats.bootstrap import ItemScores as ItemScores
    from lm_eval_mtl.stats.bootstrap import SufficientStatistics as SufficientStatistics
    from lm_eval_mtl.stats.bootstrap import bootstrap_composite as bootstrap_composite
    from lm_eval_mtl.stats.bootstrap import bootstrap_task_means as bootstrap_task_means
    from lm_eval_mtl.stats.clusters import ClusteredMeanInterval as ClusteredMeanInterval
    from lm_eval_mtl.stats.clusters import ClusterPolicy as ClusterPolicy
    from lm_eval_mtl.stats.clusters import CompositeTInterval as CompositeTInterval
    from lm_eval_mtl.stats.clusters import clustered_t_interval as clustered_t_interval
    from lm_eval_mtl.stats.clusters import composite_t_interval as composite_t_interval
    from lm_eval_mtl.stats.clusters import few_clusters_policy as few_clusters_policy
    from lm_eval_mtl.stats.corpus import CorpusStats as CorpusStats
    from lm_eval_mtl.stats.corpus import bootstrap_corpus as bootstrap_corpus
    from lm_eval_mtl.stats.corpus import corpus_score as corpus_score
    from lm_eval_mtl.stats.corpus import segment_stats as segment_stats
    from lm_eval_mtl.stats.multiple import McNemarResult as McNemarResult
    from lm_eval_mtl.stats.multiple import benjamini_hochberg as benjamini_hochberg
    from lm_eval_mtl.stats.multiple import holm as holm
    from lm_eval_mtl.stats.multiple import mcnemar as mcnemar
    from lm_eval_mtl.stats.paired import PairedDifference as PairedDifference
    from lm_eval_mtl.stats.wild import WildClusterResult as WildClusterResult
    from lm_eval_mtl.stats.wild import wild_cluster_bootstrap as wild_cluster_bootstrap
    from lm_eval_mtl.stats.wild import wild_cluster_paired as wild_cluster_paired
    from lm_eval_mtl.stats.wild_composite import WildComposite as WildComposite
    from lm_eval_mtl.stats.wild_composite import WildStratum as WildStratum
    from lm_eval_mtl.stats.wild_composite import wild_composite as wild_composite
    from lm_eval_mtl.suites import MemberSpec as MemberSpec
    from lm_eval_mtl.suites import SuiteSpec as SuiteSpec
    from lm_eval_mtl.suites import list_suites as list_suites
    from lm_eval_mtl.suites import load_suite as load_suite
    from lm_eval_mtl.suites import load_suites as load_suites
    from lm_eval_mtl.suites.detect import SuiteChoice as SuiteChoice
    from lm_eval_mtl.suites.detect import detect_suite as detect_suite
    from lm_eval_mtl.suites.detect import shipped_suites as shipped_suites

# public name -> module that defines it ("module:attribute" where the public name differs)
_API: dict[str, str] = {
    # errors and warnings
    "DegenerateDataWarning": "lm_eval_mtl.errors",
    "DemoError": "lm_eval_mtl.errors",
    "IncompatibleRunsError": "lm_eval_mtl.errors",
    "IncompatibleWeightsError": "lm_eval_mtl.errors",
    "InsufficientDataError": "lm_eval_mtl.errors",
    "MTLError": "lm_eval_mtl.errors",
    "MissingExtraError": "lm_eval_mtl.errors",
    "MissingMetricError": "lm_eval_mtl.errors",
    "MissingTaskError": "lm_eval_mtl.errors",
    "OutputPathError": "lm_eval_mtl.errors",
    "PanelFormatError": "lm_eval_mtl.errors",
    "RefusedSchemeError": "lm_eval_mtl.errors",
    "ResourceLimitError": "lm_eval_mtl.errors",
    "CorrelateOptionError": "lm_eval_mtl.errors",
    "printable": "lm_eval_mtl.report.tables",
    "collect_members": "lm_eval_mtl.scoring.members",
    "Member": "lm_eval_mtl.scoring.members",
    "Members": "lm_eval_mtl.scoring.members",
    "CompositeInterval": "lm_eval_mtl.scoring.interval",
    "wild_cluster_paired": "lm_eval_mtl.stats.wild",
    "wild_cluster_bootstrap": "lm_eval_mtl.stats.wild",
    "few_clusters_policy": "lm_eval_mtl.stats.clusters",
    "composite_t_interval": "lm_eval_mtl.stats.clusters",
    "clustered_t_interval": "lm_eval_mtl.stats.clusters",
    "WildClusterResult": "lm_eval_mtl.stats.wild",
    "WildComposite": "lm_eval_mtl.stats.wild_composite",
    "LiveLine": "lm_eval_mtl.demo.progress",
    "DocFields": "lm_eval_mtl.io.columns",
    "display_path": "lm_eval_mtl.demo.run",
    "WildStratum": "lm_eval_mtl.stats.wild_composite",
    "wild_composite": "lm_eval_mtl.stats.wild_composite",
    "IntervalSource": "lm_eval_mtl.scoring.types",
    "CompositeTInterval": "lm_eval_mtl.stats.clusters",
    "ClusteredMeanInterval": "lm_eval_mtl.stats.clusters",
    "ClusterPolicy": "lm_eval_mtl.stats.clusters",
    "FewClustersWarning": "lm_eval_mtl.errors",
    "FewClustersError": "lm_eval_mtl.errors",
    "ResultsFormatError": "lm_eval_mtl.errors",
    "SimProfileError": "lm_eval_mtl.errors",
    "SimRunError": "lm_eval_mtl.errors",
    "SuiteSpecError": "lm_eval_mtl.errors",
    "UnknownNameError": "lm_eval_mtl.errors",
    "WeightsFormatError": "lm_eval_mtl.errors",
    "unknown_name": "lm_eval_mtl.errors",
    # suites
    "MemberSpec": "lm_eval_mtl.suites",
    "SuiteSpec": "lm_eval_mtl.suites",
    "list_suites": "lm_eval_mtl.suites",
    "load_suite": "lm_eval_mtl.suites",
    "load_suites": "lm_eval_mtl.suites",
    "SuiteChoice": "lm_eval_mtl.suites.detect",
    "detect_suite": "lm_eval_mtl.suites.detect",
    "shipped_suites": "lm_eval_mtl.suites.detect",
    # reading lm-eval output
    "MetricKey": "lm_eval_mtl.io",
    "MetricValue": "lm_eval_mtl.io",
    "RunResult": "lm_eval_mtl.io",
    "TaskResult": "lm_eval_mtl.io",
    "TaskSamples": "lm_eval_mtl.io",
    "find_runs": "lm_eval_mtl.io",
    "load_run": "lm_eval_mtl.io",
    "read_samples": "lm_eval_mtl.io",
    "atomic_write_text": "lm_eval_mtl.io.atomic",
    "check_output_path": "lm_eval_mtl.io.atomic",
    "ModelFolder": "lm_eval_mtl.io.runs",
    "find_model_runs": "lm_eval_mtl.io.runs",
    # scoring
    "score_run": "lm_eval_mtl.scoring.composite",
    "CompositeScore": "lm_eval_mtl.scoring.types",
    "TaskScore": "lm_eval_mtl.scoring.types",
    "WeightsInfo": "lm_eval_mtl.scoring.types",
    "resolve_weights": "lm_eval_mtl.scoring.structural",
    "resolve_weights_with_info": "lm_eval_mtl.scoring.weights:resolve",
    "Normalization": "lm_eval_mtl.scoring.weights_file",
    "PercentileTable": "lm_eval_mtl.scoring.weights_file",
    "PopulationProvenance": "lm_eval_mtl.scoring.weights_file",
    "WeightsFile": "lm_eval_mtl.scoring.weights_file",
    "list_shipped_weights": "lm_eval_mtl.scoring.weights_file",
    "load_weights": "lm_eval_mtl.scoring.weights_file",
    "save_weights": "lm_eval_mtl.scoring.weights_file",
    "SchemeContext": "lm_eval_mtl.scoring.weighting",
    "SchemeRegistry": "lm_eval_mtl.scoring.weighting",
    "WeightingScheme": "lm_eval_mtl.scoring.weighting",
    "fit_weights": "lm_eval_mtl.scoring.weighting",
    "register_scheme": "lm_eval_mtl.scoring.weighting",
    "scheme_registry": "lm_eval_mtl.scoring.weighting",
    "Population": "lm_eval_mtl.scoring.population",
    "load_panel_csv": "lm_eval_mtl.scoring.population",
    "population_from_runs": "lm_eval_mtl.scoring.population",
    "openllm_v2_average": "lm_eval_mtl.scoring.leaderboard",
    # comparison, transfer, correlation
    "CompositeDifference": "lm_eval_mtl.analysis.compare",
    "ModelComparison": "lm_eval_mtl.analysis.compare",
    "PairComparison": "lm_eval_mtl.analysis.compare",
    "compare_runs": "lm_eval_mtl.analysis.compare",
    "paired_difference": "lm_eval_mtl.analysis.compare",
    "MultiTaskGain": "lm_eval_mtl.analysis.transfer",
    "TransferMatrix": "lm_eval_mtl.analysis.transfer",
    "transfer_from_scores": "lm_eval_mtl.analysis.transfer",
    "transfer_matrix": "lm_eval_mtl.analysis.transfer",
    # gradient affinity: predicted transfer from one model's gradients
    "AffinityMatrix": "lm_eval_mtl.affinity.result",
    "AffinityMeasure": "lm_eval_mtl.affinity.result",
    "ParameterInfo": "lm_eval_mtl.affinity.result",
    "ProjectionInfo": "lm_eval_mtl.affinity.result",
    "TaskGradient": "lm_eval_mtl.affinity.result",
    "load_affinity": "lm_eval_mtl.affinity.result",
    "gradient_affinity": "lm_eval_mtl.affinity.run",
    "write_affinity": "lm_eval_mtl.affinity.run",
    "affinity_tables": "lm_eval_mtl.affinity.render",
    "plot_affinity": "lm_eval_mtl.affinity.render",
    "predicted_tables": "lm_eval_mtl.affinity.render",
    "plot_predicted": "lm_eval_mtl.affinity.render",
    "PredictedTransfer": "lm_eval_mtl.analysis.predicted",
    "RankAgreement": "lm_eval_mtl.analysis.predicted",
    "predicted_transfer": "lm_eval_mtl.analysis.predicted",
    "CorrelationStudy": "lm_eval_mtl.analysis.correlate",
    "ExcludedColumn": "lm_eval_mtl.analysis.columns",
    "Imputation": "lm_eval_mtl.analysis.imputation",
    "correlate_tasks": "lm_eval_mtl.analysis.correlate",
    # statistics
    "ConfidenceInterval": "lm_eval_mtl.stats._common",
    "BootstrapResult": "lm_eval_mtl.stats.bootstrap",
    "ItemScores": "lm_eval_mtl.stats.bootstrap",
    "SufficientStatistics": "lm_eval_mtl.stats.bootstrap",
    "bootstrap_composite": "lm_eval_mtl.stats.bootstrap",
    "bootstrap_task_means": "lm_eval_mtl.stats.bootstrap",
    "CorpusStats": "lm_eval_mtl.stats.corpus",
    "bootstrap_corpus": "lm_eval_mtl.stats.corpus",
    "corpus_score": "lm_eval_mtl.stats.corpus",
    "segment_stats": "lm_eval_mtl.stats.corpus",
    "McNemarResult": "lm_eval_mtl.stats.multiple",
    "benjamini_hochberg": "lm_eval_mtl.stats.multiple",
    "holm": "lm_eval_mtl.stats.multiple",
    "mcnemar": "lm_eval_mtl.stats.multiple",
    "PairedDifference": "lm_eval_mtl.stats.paired",
    # JSON: NaN and infinities as null
    "json_clean": "lm_eval_mtl.jsonout",
    "json_dumps": "lm_eval_mtl.jsonout",
    "json_float": "lm_eval_mtl.jsonout",
    # reports: tables in every format, plots (the plot extra)
    "Table": "lm_eval_mtl.report.tables",
    "render_table": "lm_eval_mtl.report.tables",
    "composite_table": "lm_eval_mtl.report.render",
    "render_composite": "lm_eval_mtl.report.render",
    "comparison_tables": "lm_eval_mtl.report.analysis",
    "correlation_tables": "lm_eval_mtl.report.analysis",
    "plot_transfer": "lm_eval_mtl.report.analysis",
    "transfer_tables": "lm_eval_mtl.report.analysis",
    "write_composite_plots": "lm_eval_mtl.report.plots",
    "ManyScores": "lm_eval_mtl.report.many",
    "ModelComposite": "lm_eval_mtl.report.many",
    "ModelRow": "lm_eval_mtl.report.many",
    "NotScored": "lm_eval_mtl.report.many",
    "model_seed": "lm_eval_mtl.report.many",
    "plot_many": "lm_eval_mtl.report.many",
    "render_many": "lm_eval_mtl.report.many",
    "score_many": "lm_eval_mtl.report.many",
    "plot_weights": "lm_eval_mtl.report.weights_plot",
    # the offline demo
    "DemoContext": "lm_eval_mtl.demo.run",
    "DemoStep": "lm_eval_mtl.demo.run",
    "run_demo": "lm_eval_mtl.demo.run",
    "SimRuns": "lm_eval_mtl.sim.runner",
    "DEMO_STEPS": "lm_eval_mtl.demo.run:STEPS",
    "DEMO_STORY_STEPS": "lm_eval_mtl.demo.story:STORY_STEPS",
}

# Static, so that type checkers and linters see the public names (the aliases included).
__all__ = [
    "__version__",
    "AffinityMatrix",
    "AffinityMeasure",
    "BootstrapResult",
    "ClusterPolicy",
    "ClusteredMeanInterval",
    "CompositeDifference",
    "CompositeInterval",
    "CompositeScore",
    "CompositeTInterval",
    "ConfidenceInterval",
    "CorpusStats",
    "CorrelateOptionError",
    "CorrelationStudy",
    "DEMO_STEPS",
    "DEMO_STORY_STEPS",
    "DegenerateDataWarning",
    "DemoContext",
    "DemoError",
    "DemoStep",
    "DocFields",
    "ExcludedColumn",
    "FewClustersError",
    "FewClustersWarning",
    "Imputation",
    "IncompatibleRunsError",
    "IncompatibleWeightsError",
    "InsufficientDataError",
    "IntervalSource",
    "ItemScores",
    "LiveLine",
    "MTLError",
    "ManyScores",
    "McNemarResult",
    "Member",
    "MemberSpec",
    "Members",
    "MetricKey",
    "MetricValue",
    "MissingExtraError",
    "MissingMetricError",
    "MissingTaskError",
    "ModelComparison",
    "ModelComposite",
    "ModelFolder",
    "ModelRow",
    "MultiTaskGain",
    "Normalization",
    "NotScored",
    "OutputPathError",
    "PairComparison",
    "PairedDifference",
    "PanelFormatError",
    "ParameterInfo",
    "PercentileTable",
    "Population",
    "PopulationProvenance",
    "PredictedTransfer",
    "ProjectionInfo",
    "RankAgreement",
    "RefusedSchemeError",
    "ResourceLimitError",
    "ResultsFormatError",
    "RunResult",
    "SchemeContext",
    "SchemeRegistry",
    "SimProfileError",
    "SimRunError",
    "SimRuns",
    "SufficientStatistics",
    "SuiteChoice",
    "SuiteSpec",
    "SuiteSpecError",
    "Table",
    "TaskGradient",
    "TaskResult",
    "TaskSamples",
    "TaskScore",
    "TransferMatrix",
    "UnknownNameError",
    "WeightingScheme",
    "WeightsFile",
    "WeightsFormatError",
    "WeightsInfo",
    "WildClusterResult",
    "WildComposite",
    "WildStratum",
    "affinity_tables",
    "atomic_write_text",
    "benjamini_hochberg",
    "bootstrap_composite",
    "bootstrap_corpus",
    "bootstrap_task_means",
    "check_output_path",
    "clustered_t_interval",
    "collect_members",
    "compare_runs",
    "comparison_tables",
    "composite_t_interval",
    "composite_table",
    "corpus_score",
    "correlate_tasks",
    "correlation_tables",
    "detect_suite",
    "display_path",
    "few_clusters_policy",
    "find_model_runs",
    "find_runs",
    "fit_weights",
    "gradient_affinity",
    "holm",
    "json_clean",
    "json_dumps",
    "json_float",
    "list_shipped_weights",
    "list_suites",
    "load_affinity",
    "load_panel_csv",
    "load_run",
    "load_suite",
    "load_suites",
    "load_weights",
    "mcnemar",
    "model_seed",
    "openllm_v2_average",
    "paired_difference",
    "plot_affinity",
    "plot_many",
    "plot_predicted",
    "plot_transfer",
    "plot_weights",
    "population_from_runs",
    "predicted_tables",
    "predicted_transfer",
    "printable",
    "read_samples",
    "register_scheme",
    "render_composite",
    "render_many",
    "render_table",
    "resolve_weights",
    "resolve_weights_with_info",
    "run_demo",
    "save_weights",
    "scheme_registry",
    "score_many",
    "score_run",
    "segment_stats",
    "shipped_suites",
    "transfer_from_scores",
    "transfer_matrix",
    "transfer_tables",
    "unknown_name",
    "wild_cluster_bootstrap",
    "wild_cluster_paired",
    "wild_composite",
    "write_affinity",
    "write_composite_plots",
]

if not TYPE_CHECKING:  # type checkers see the imports above; unknown names stay errors for them

    def __getattr__(name: str) -> Any:
        target = _API.get(name)
        if target is None:
            raise AttributeError(f"module 'lm_eval_mtl' has no attribute {name!r}")
        module, _, attr = target.partition(":")
        value = getattr(importlib.import_module(module), attr or name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(__all__)
