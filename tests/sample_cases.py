"""Expected boundaries of each sample, written from the samples themselves (not from nbextract's output)."""

SAMPLE_CASES = [
    {"file": "churn_column_transformer.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": False, "secrets": ["fa4ee302123b7000bfe42530f72e221829fb876e"]},
    {"file": "text_tfidf_sentiment.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": False, "secrets": ["sk-proj-FAKE4HQb8GeavjTEQykdeLFkeJnjb7wXh9HjQtDcArQZclrj"]},
    {"file": "diabetes_gridsearch.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": True, "secrets": ["AKIAFAKEKEYEXAMPLEAB", "fakeMt7fXS+R78f8v44LJpx13pn/WGySnuItP5jk"]},
    {"file": "wine_kmeans_pca.ipynb", "input": "X_new", "output": "clusters", "kind": "ipynb", "float_output": False, "secrets": ["ghp_FAKEznd5sZcoG1fY78Sut8DeLq2eSB8mgzmT"]},
    {"file": "breast_cancer_zscore_threshold.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": False, "secrets": ["S3cr3tPassw0rd!"]},
    {"file": "sensor_failure_joblib.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": False, "secrets": ["hf_FAKEDGpZxnGSAlLntdwIjFXJEviidNkjIe"]},
    {"file": "house_prices_log_target.ipynb", "input": "X_new", "output": "price_pred", "kind": "ipynb", "float_output": True, "secrets": ["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmYWtlLXVzZXIiLCJzY29wZSI6InByaWNpbmctYXBpIn0.ZmFrZV9zaWduYXR1cmVfZm9yX3Rlc3RzX29ubHkhIQ"]},
    {"file": "iris_training_script.py", "input": "X_test", "output": "y_pred", "kind": "script", "float_output": False, "secrets": ["https://hooks.slack.com/services/T0FAKE1234/B0FAKE5678/FAKETukaQRdOfWYj6ncBzVun"]},
    {"file": "fruit_label_encoder_percent.py", "input": "X_test", "output": "labels", "kind": "percent", "float_output": False, "secrets": ["AIzaSyFAKEWJM2OtlHJ0ZJoWJBMYgS4D-vWNaj9"]},
    {"file": "digits_random_forest_gallery.py", "input": "X_test", "output": "y_pred", "kind": "sphinx", "float_output": False, "secrets": ["ZmFrZS1henVyZS1zdG9yYWdlLWFjY291bnQta2V5LWZvci1uYmV4dHJhY3QtdGVzdHMtypjb9V/N9FCQvbFpVury"]},
    # PyTorch: `rtol` is the tolerance for floats (torch kernels may sum in another order for another batch size)
    {"file": "wine_torch_mlp.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": False, "rtol": 1e-5, "secrets": ["3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a"]},
    {"file": "digits_cnn.ipynb", "input": "X_test", "output": "y_pred", "kind": "ipynb", "float_output": False, "rtol": 1e-5, "secrets": ["hf_FAKEqLmT4vXz8NwR2pKs6YbJ0cGdHe3uAiQo"]},
    {"file": "reviews_bow_torch.ipynb", "input": "X_test", "output": "predicted", "kind": "ipynb", "float_output": False, "rtol": 1e-5, "secrets": ["sk-proj-FAKEa8Kd02LmXq7RtY5vWz3NcB6hJp9sUe1Go4Fi"]},
    {"file": "breast_cancer_torch_save.ipynb", "input": "X_test", "output": "flagged", "kind": "ipynb", "float_output": False, "rtol": 1e-5, "secrets": ["fakeQ9v2Lr8sT4wX1yZ7bN3mK6pJ0hG5dF8aS2eC"]},
]
