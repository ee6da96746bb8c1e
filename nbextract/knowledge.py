"""What nbextract knows about common libraries, as data: one table per question the analysis asks.

Like gather's API specs: a method not listed as pure is assumed to change its receiver.
"""

from __future__ import annotations

import re

PURE_METHODS = frozenset(
    """
    predict predict_proba predict_log_proba decision_function transform inverse_transform score score_samples
    get_params get_feature_names_out kneighbors
    head tail describe info copy drop groupby mean median std var sum min max count value_counts unique nunique
    isna isnull notna notnull astype reshape ravel flatten plot hist corr cov apply map applymap merge join concat query
    sort_values sort_index reset_index set_index fillna dropna replace rename select_dtypes to_numpy tolist to_list
    to_dict to_frame values items keys get format split strip lower upper startswith endswith join lstrip rstrip
    argmax argmin argsort round abs clip cumsum diff shift pct_change rolling resample agg aggregate assign pivot
    pivot_table melt stack unstack explode sample nlargest nsmallest idxmax idxmin any all where mask isin between
    str dt cat loc iloc at iat numpy cpu detach item squeeze unsqueeze view float double long int argwhere nonzero
    dot matmul transpose T eval_ __len__ __getitem__ encode decode readlines read
    parameters named_parameters buffers named_buffers state_dict children modules named_modules forward
    toarray todense size dim numel clone contiguous permute softmax log_softmax sigmoid exp log
    bool half type_as eq ne gt lt ge le topk
    """.split()
)

INPLACE_KEYWORD = "inplace"

SEED_CALLS = frozenset(
    {
        "numpy.random.seed",
        "random.seed",
        "torch.manual_seed",
        "torch.cuda.manual_seed",
        "torch.cuda.manual_seed_all",
        "tensorflow.random.set_seed",
        "tf.random.set_seed",
        "sklearn.utils.check_random_state",
        "set_seed",
        "transformers.set_seed",
        "torch.use_deterministic_algorithms",
    }
)

# Calls that draw from a global random stream (seeded by SEED_CALLS); generators with their own seed do not.
RANDOM_CALL_PREFIXES = ("torch.rand", "torch.normal", "torch.bernoulli", "torch.multinomial", "numpy.random.", "random.")
OWN_STREAM_CALLS = frozenset({"numpy.random.RandomState", "numpy.random.default_rng", "numpy.random.Generator", "random.Random"})


def draws_random(name: str) -> bool:
    return name.startswith(RANDOM_CALL_PREFIXES) and name not in OWN_STREAM_CALLS and not is_seed(name)


# PyTorch: which objects share state with a model, so that changing one changes the model.
PARAMETER_METHODS = frozenset({"parameters", "named_parameters"})  # `Adam(model.parameters())` holds model's weights
OPTIMIZER_PREFIXES = ("torch.optim.",)  # optimizers and schedulers hold what they are built from (`StepLR(opt)`)
GRADIENT_METHODS = frozenset({"backward"})  # `loss.backward()` writes the grads of what `loss` was computed from
NO_GRAD_CALLS = frozenset({"torch.no_grad", "torch.inference_mode"})

# How fitted state is saved: a model class of the source whose base is one of these saves its state_dict.
MODULE_BASES = frozenset(
    {
        "torch.nn.Module",
        "torch.nn.modules.module.Module",
        "lightning.LightningModule",
        "lightning.pytorch.LightningModule",
        "pytorch_lightning.LightningModule",
    }
)
TORCH_PREFIX = "torch."  # state made by torch (tensors, torch.nn containers, torch.load) is saved with torch.save
TORCH_MODEL_MAKERS = ("torch.nn.", "torch.load", "torch.jit.", "torch.hub.load", "torch.compile")
PRETRAINED_SUFFIX = ".from_pretrained"  # saved with save_pretrained into a folder, loaded with from_pretrained
PRETRAINED_PREFIXES = ("transformers.",)
PIPELINE_CALLS = frozenset({"transformers.pipeline"})


def is_pretrained(maker: str) -> bool:
    """A Hugging Face object: `AutoModel.from_pretrained(...)` or `pipeline(...)`, saved with save_pretrained."""
    return maker in PIPELINE_CALLS or (maker.startswith(PRETRAINED_PREFIXES) and maker.endswith(PRETRAINED_SUFFIX))

PREDICT_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "fit_predict")
SCORE_METHODS = frozenset({"predict_proba", "predict_log_proba", "decision_function"})
"""Scores of a classifier; `predict` on the same model and data gives its labels, the usual final answer."""
TRANSFORM_METHODS = ("transform",)

SPLIT_CALLS = frozenset({"sklearn.model_selection.train_test_split", "train_test_split"})

LOADER_PREFIXES = (
    "pandas.read_",
    "numpy.load",
    "numpy.loadtxt",
    "numpy.genfromtxt",
    "sklearn.datasets.load_",
    "sklearn.datasets.fetch_",
    "sklearn.datasets.make_",
    "open",
    "json.load",
    "datasets.load_dataset",
    "torchvision.datasets.",
    "polars.read_",
)

METRIC_MARKERS = ("_score", "_error", "_report", "confusion_matrix", "sklearn.metrics.", "cross_val_")
PAIR_METRIC_MARKERS = ("_score", "_error", "_report", "confusion_matrix")
MODEL_METRIC_MARKERS = ("cross_val", "learning_curve", "validation_curve", "permutation_importance")
TRUTH_KEYWORDS = ("y_true", "labels_true")
PREDICTION_KEYWORDS = ("y_pred", "y_score", "y_prob", "y_proba", "labels_pred", "probas_pred")

DISPLAY_CALLS = frozenset({"print", "display", "IPython.display.display", "pprint.pprint", "logging.info"})

PLOT_PREFIXES = ("matplotlib.", "seaborn.", "plotly.", "IPython.display.", "scikitplot.", "yellowbrick.")

PLOT_METHODS = frozenset({"plot", "hist", "imshow", "scatter", "show", "savefig", "boxplot", "bar", "barh"})

SAVE_CALLS = frozenset(
    {"joblib.dump", "pickle.dump", "numpy.save", "numpy.savez", "torch.save", "json.dump", "dill.dump", "cloudpickle.dump"}
)
SAVE_METHODS = frozenset({"save", "save_model", "save_pretrained", "to_csv", "to_parquet", "to_json", "to_pickle", "savefig"})
FOLDER_CALLS = frozenset({"os.makedirs", "os.mkdir", "pathlib.Path.mkdir", "shutil.copytree"})
FILE_CALLS = SAVE_CALLS | frozenset({"joblib.load", "pickle.load", "torch.load", "dill.load", "cloudpickle.load", "numpy.load", "open"})
"""Calls whose string arguments name files whatever their shape (`joblib.dump(model, "model_joblib")`)."""
OPEN_MODE = re.compile(r"[rwxabt+]{1,3}")
NAMED_DATASET_CALLS = frozenset(
    {"sklearn.datasets.load_sample_image", "seaborn.load_dataset", "datasets.load_dataset", "tensorflow_datasets.load"}
)
"""Calls whose first argument names a data set of the library (`load_sample_image("china.jpg")`), never a path."""

FIT_METHODS = frozenset({"fit", "fit_transform", "fit_predict", "partial_fit", "train"})

ROW_SELECTION_METHODS = frozenset({"sample", "head", "tail"})
"""`X.sample(25)`: rows taken from the data, new rows for a model fitted on it."""
REDUCING_METHODS = frozenset({"sum", "mean", "max", "min", "std", "var", "count", "value_counts", "describe", "nunique"})
REDUCING_CALLS = frozenset({"sum", "len", "min", "max", "any", "all", "sorted", "set", "numpy.sum", "numpy.mean", "numpy.count_nonzero"})


def is_loader(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix) for prefix in LOADER_PREFIXES)


def is_metric(name: str) -> bool:
    return any(marker in name for marker in METRIC_MARKERS)


def scores_predictions(name: str) -> bool:
    """A metric of the truth and a prediction (`accuracy_score(y_test, y_pred)`), not one that fits a model itself
    (`cross_val_score(model, X, y)`)."""
    return any(marker in name for marker in PAIR_METRIC_MARKERS) and not any(word in name for word in MODEL_METRIC_MARKERS)


def is_plot(name: str) -> bool:
    return name.startswith(PLOT_PREFIXES) or name in {"plt.show"}


def is_seed(name: str) -> bool:
    return name in SEED_CALLS or name.endswith(".manual_seed") or name.endswith("random.seed")


PATH_SUFFIXES = frozenset(
    ".csv .tsv .parquet .feather .json .jsonl .txt .pkl .pickle .joblib .npy .npz .pt .pth .h5 .hdf5 .onnx .bin"
    " .safetensors .xlsx .xls .zip .gz .tar .yaml .yml .model .ckpt .png .jpg".split()
)


def looks_like_path(text: str) -> bool:
    """A string that names a file or folder: a known data/model suffix, or a slash without spaces."""
    if not text or len(text) > 400 or "\n" in text or "://" in text:
        return False
    suffix = text[text.rfind(".") :].lower() if "." in text else ""
    return suffix in PATH_SUFFIXES or ("/" in text and " " not in text)


DEVICE_STRING = frozenset({"cuda", "mps", "cpu"})
HUB_CALL_SUFFIXES = (
    ".from_pretrained",
    "hf_hub_download",
    "snapshot_download",
    "torch.hub.load",
    "torch.hub.load_state_dict_from_url",
    "urllib.request.urlretrieve",
    "requests.get",
    "wget.download",
    "gdown.download",
    "transformers.pipeline",
    "tensorflow.keras.utils.get_file",
    "keras.utils.get_file",
)


def names_device(text: str) -> bool:
    """`cpu`, `cuda`, `cuda:0`, `mps`: a torch device name."""
    name, _, index = text.partition(":")
    return name in DEVICE_STRING and (not index or index.isdigit())


def is_device(text: str) -> bool:
    """`cuda`, `cuda:0`, `mps`: a device pinned in code (plain `cpu` is not a finding, but is still a device)."""
    return names_device(text) and not text.startswith("cpu")


DEVICE_CALLS = frozenset({"torch.device"})


def is_hub_download(name: str) -> bool:
    return name.endswith(HUB_CALL_SUFFIXES)
