"""The scikit-learn preprocessing equivalent to modelserver's defaults,
shared by bench/sklearn_fit.py, bench/sklearn_cv.py and
bench/sklearn_reference.py: numeric columns mean-imputed and standard-scaled,
text columns most-frequent-imputed and one-hot encoded (unknown levels ->
zeros). A column is text when pandas read it as `object`.
"""
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def preprocessor(frame, columns):
    """A ColumnTransformer over `columns` of `frame` (typed by its dtypes)."""
    cat = [c for c in columns if frame[c].dtype == object]
    num = [c for c in columns if c not in cat]
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), num),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), cat)])
