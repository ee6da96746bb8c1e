"""Expected boundaries of each sample, written from the samples themselves (not from nbextract's output)."""

SAMPLE_CASES = [
    {"file": "churn_column_transformer.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": False},
    {"file": "text_tfidf_sentiment.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": False},
    {"file": "diabetes_gridsearch.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": True},
    {"file": "wine_kmeans_pca.ipynb", "input": "X_new", "output": "clusters", "kind": "ipynb", "float_output": False},
    {"file": "breast_cancer_zscore_threshold.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": False},
    {"file": "sensor_failure_joblib.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": False},
    {"file": "house_prices_log_target.ipynb", "input": "X_new", "output": "price_pred", "kind": "ipynb", "float_output": True},
    {"file": "iris_training_script.py", "input": "X_test", "output": "y_pred", "kind": "script", "float_output": False},
    {"file": "fruit_label_encoder_percent.py", "input": "X_test", "output": "labels", "kind": "percent", "float_output": False},
    {"file": "digits_random_forest_gallery.py", "input": "X_test", "output": "y_pred", "kind": "sphinx", "float_output": False},
]
