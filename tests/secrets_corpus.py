"""A planted-secrets corpus for `nbextract.secrets.detect`, written independently of the detector.

Plain data only: nothing here imports nbextract, and nothing is computed at import time.

PLANTED     snippets of research-notebook Python that each contain one secret; {"kind", "code", "secret"}.
            `secret` is the exact substring of `code` that must not be copied: the whole token for tokens and keys,
            the password part for URLs with credentials and connection strings, the key part of an Azure
            connection string, the last path segment of a Slack webhook, the BEGIN..END block of a PEM key.
            A detection counts when some Secret's value equals or contains it.
LOOKALIKES  snippets that contain no secret; detect() must return [] for each.

Every secret below is FAKE: produced once by a throwaway script seeded with random.Random(20240611), with the
prefix, alphabet and length of the real thing, and pasted here. None of them was ever issued by any service.

What counts as a secret (the decisions this corpus encodes):
- A value is a secret by its shape (a known prefix and length: AKIA..., ghp_..., sk-ant-..., a PEM block, ...) or
  by its context (assigned to a name or passed to a keyword such as api_key/token/secret/password, written into
  os.environ["..._KEY"], or the password of a URL) when it is not a placeholder.
- A placeholder is not a secret: "<your-key-here>", "YOUR_API_KEY", "xxx", "xxxx...", "...", "sk-...", "",
  "changeme", "<OPENAI_API_KEY>", "TODO". They protect nothing; "changeme" is a well-known default, a value
  everyone knows, so finding it would only be noise (the generated package reads the real value from the
  environment either way).
- The NAME of an environment variable is not a secret ("WANDB_API_KEY"), nor is reading one.
- Hashes (git, sha256, md5), UUIDs, base64 media and weights, DNA, colours, seeds, paths and model names are not
  secrets, even when long, random-looking or assigned to names containing "key", "token" or "secret".
- A URL is a secret only through its password part; user@host with no password is not.
- Secrets are planted in string literals (the detector scans literals), never only in comments.
"""

PLANTED = [
    # --- AWS ---------------------------------------------------------------------------------------------------
    {
        "kind": "aws access key id",
        "code": 'import boto3\n'
        's3 = boto3.client(\n'
        '    "s3",\n'
        '    aws_access_key_id="AKIAVQJXXVBOTHD2WTFL",\n'
        '    aws_secret_access_key="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",\n'
        ')\n',
        "secret": "AKIAVQJXXVBOTHD2WTFL",
    },
    {
        "kind": "aws access key id",
        "code": 'creds = {"aws_access_key_id": "AKIAHBMUAPTT2ZN5X2PD", "region_name": "us-east-1"}\n'
        'bucket = boto3.resource("s3", **creds).Bucket("lab-datasets")\n',
        "secret": "AKIAHBMUAPTT2ZN5X2PD",
    },
    {
        "kind": "aws secret access key",
        "code": 'import boto3\n'
        's3 = boto3.client(\n'
        '    "s3",\n'
        '    aws_access_key_id="AKIAVQJXXVBOTHD2WTFL",\n'
        '    aws_secret_access_key="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",\n'
        ')\n',
        "secret": "hvjwdbT2HwDqzuM14qHOXHlpaBqCefuv2FSJghB6",
    },
    {
        "kind": "aws secret access key",
        "code": 'session = boto3.Session(\n'
        '    aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],\n'
        '    aws_secret_access_key="hRLeos47wGJkcU/0XXkHG5qJwv1MkAuYVbpS0Jso",\n'
        ')\n',
        "secret": "hRLeos47wGJkcU/0XXkHG5qJwv1MkAuYVbpS0Jso",
    },
    # --- source hosting --------------------------------------------------------------------------------------------
    {
        "kind": "github token",
        "code": 'GITHUB_TOKEN = "ghp_by6RFnCakeiouTTyPatiK27F4T3TgOLubYXr"\n'
        'repo = Github(GITHUB_TOKEN).get_repo("lab/protein-folding")\n',
        "secret": "ghp_by6RFnCakeiouTTyPatiK27F4T3TgOLubYXr",
    },
    {
        "kind": "github token",
        "code": 'g = Github("ghp_Mxbyq0dvBPAG1XykIUmW7tPhd8bhBnDzu0ny")\n',
        "secret": "ghp_Mxbyq0dvBPAG1XykIUmW7tPhd8bhBnDzu0ny",
    },
    {
        "kind": "github token",
        "code": 'headers = {"Authorization": "token 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"}\n'
        'resp = requests.get("https://api.github.com/repos/lab/data/releases", headers=headers)\n',
        "secret": "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",
    },
    {
        "kind": "gitlab token",
        "code": 'gl = gitlab.Gitlab("https://gitlab.com", private_token="glpat-kV797tpnBPJAVA1BmzWi")\n',
        "secret": "glpat-kV797tpnBPJAVA1BmzWi",
    },
    # --- chat and notifications ------------------------------------------------------------------------------------
    {
        "kind": "slack bot token",
        "code": 'from slack_sdk import WebClient\n'
        'client = WebClient(token="xoxb-412017015239-7592174167885-gyf0Eyf2eXfjGkldl36AWMud")\n'
        'client.chat_postMessage(channel="#experiments", text="run finished")\n',
        "secret": "xoxb-412017015239-7592174167885-gyf0Eyf2eXfjGkldl36AWMud",
    },
    {
        "kind": "slack webhook",
        "code": 'SLACK_WEBHOOK = "https://hooks.slack.com/services/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"\n'
        'requests.post(SLACK_WEBHOOK, json={"text": f"val acc {acc:.3f}"})\n',
        "secret": "Ss2AqNJuhC6lzq9smdCevv8B",
    },
    {
        "kind": "discord bot token",
        "code": 'bot.run("MTQyODAzNjk3MTAwODA4OTg0MA.eXmZJ8.3PCGpiRwzhT7osgQX7kxm1iNWjnrhAfA87xWmT")\n',
        "secret": "MTQyODAzNjk3MTAwODA4OTg0MA.eXmZJ8.3PCGpiRwzhT7osgQX7kxm1iNWjnrhAfA87xWmT",
    },
    {
        "kind": "telegram bot token",
        "code": 'import telebot\n'
        'bot = telebot.TeleBot("3208909419:AAFdrdjNrDZqqwK8hD_kfBFuWM5tqUzXlqz")\n'
        'bot.send_message(CHAT_ID, "epoch 10 done")\n',
        "secret": "3208909419:AAFdrdjNrDZqqwK8hD_kfBFuWM5tqUzXlqz",
    },
    {
        "kind": "twilio api key",
        "code": 'TWILIO_API_KEY = "SKdd3a1ed8cf0ccf5ee33eb6dfd6770d43"\n',
        "secret": "SKdd3a1ed8cf0ccf5ee33eb6dfd6770d43",
    },
    {
        "kind": "twilio auth token",
        "code": 'account_sid = "ACa229d4f62a0290c9d174e373bdb76b2c"\n'
        'TWILIO_AUTH_TOKEN = "e0a2fa91787effb2121c506bac842f5f"\n'
        'client = Client(account_sid, TWILIO_AUTH_TOKEN)\n',
        "secret": "e0a2fa91787effb2121c506bac842f5f",
    },
    {
        "kind": "sendgrid key",
        "code": 'sg = SendGridAPIClient("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")\n',
        "secret": "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",
    },
    {
        "kind": "mailgun key",
        "code": 'MAILGUN_API_KEY = "key-ac4d8b505ff3a5c241f7e19d98e65246"\n',
        "secret": "key-ac4d8b505ff3a5c241f7e19d98e65246",
    },
    # --- payments --------------------------------------------------------------------------------------------------
    {
        "kind": "stripe key",
        "code": 'import stripe\nstripe.api_key = "sk_live_oHuvxOQMAqZe4FTuVxqicHpN"\n',
        "secret": "sk_live_oHuvxOQMAqZe4FTuVxqicHpN",
    },
    {
        "kind": "stripe key",
        "code": 'STRIPE_SECRET_KEY = "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"\n',
        "secret": "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",
    },
    {
        "kind": "stripe key",
        "code": 'charges = stripe.Charge.list(limit=100, api_key="rk_live_ZBwvB2fAcO7DU45PkCp753IV")\n',
        "secret": "rk_live_ZBwvB2fAcO7DU45PkCp753IV",
    },
    # --- model providers -------------------------------------------------------------------------------------------
    {
        "kind": "openai key",
        "code": 'from openai import OpenAI\n'
        'client = OpenAI(api_key="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")\n',
        "secret": "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",
    },
    {
        "kind": "openai key",
        "code": 'import openai\nopenai.api_key = "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"\n',
        "secret": "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",
    },
    {
        "kind": "anthropic key",
        "code": 'client = anthropic.Anthropic(\n'
        '    api_key="sk-ant-api03-RGIoApQ_n9rTLNNUDsKPMkOG0qWP_VAqCt7XL2CWc6Dt0CTpvNAAWQRCZljwiMkmg4HeBUuvdpdr_M0K5IQKWuonaiIFeAA",\n'
        ')\n',
        "secret": "sk-ant-api03-RGIoApQ_n9rTLNNUDsKPMkOG0qWP_VAqCt7XL2CWc6Dt0CTpvNAAWQRCZljwiMkmg4HeBUuvdpdr_M0K5IQKWuonaiIFeAA",
    },
    {
        "kind": "huggingface token",
        "code": 'from huggingface_hub import login\nlogin(token="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")\n',
        "secret": "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",
    },
    {
        "kind": "huggingface token",
        "code": 'pipe = pipeline(\n'
        '    "text-generation",\n'
        '    model="meta-llama/Llama-2-7b-chat-hf",\n'
        '    use_auth_token="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",\n'
        ')\n',
        "secret": "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",
    },
    {
        "kind": "google api key",
        "code": 'gmaps = googlemaps.Client(key="AIzauoTFzutQR8AfVNkBNhfBdFJ3U-YPo09rNkW")\n',
        "secret": "AIzauoTFzutQR8AfVNkBNhfBdFJ3U-YPo09rNkW",
    },
    {
        "kind": "google api key",
        "code": 'def geocode(address):\n'
        '    url = f"https://maps.googleapis.com/maps/api/geocode/json?address={address}&key=AIza1Zw9_OHp46pBMt1toKZFr1WkBpxtxX8ttX4"\n'
        '    return requests.get(url).json()\n',
        "secret": "AIza1Zw9_OHp46pBMt1toKZFr1WkBpxtxX8ttX4",
    },
    {
        "kind": "pypi token",
        "code": 'subprocess.run(["twine", "upload", "-u", "__token__", "-p", "pypi-AgEIcHlwaS5vcmcsfXHFReW0BvctVMIAxCAak9g0wUIW6RwiJ0leIrLWyJQZERTeMTwsGZ3fsdW0Wo0SozGJon-YTR2fHHkTNelT5hLRmvH9gkEqTW3LGhur-wutpoSkHOImjIdbmFCCqLRqbXFTysuenKh", "dist/*"], check=True)\n',
        "secret": "pypi-AgEIcHlwaS5vcmcsfXHFReW0BvctVMIAxCAak9g0wUIW6RwiJ0leIrLWyJQZERTeMTwsGZ3fsdW0Wo0SozGJon-YTR2fHHkTNelT5hLRmvH9gkEqTW3LGhur-wutpoSkHOImjIdbmFCCqLRqbXFTysuenKh",
    },
    # --- tokens by structure ---------------------------------------------------------------------------------------
    {
        "kind": "jwt",
        "code": 'resp = requests.get(\n'
        '    API_URL + "/datasets",\n'
        '    cookies={"session": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1LTY1NDQxODUyIiwibmFtZSI6ImxhYi1zZXJ2aWNlIiwiaWF0IjoxNzE3NzkyMzIyLCJzY29wZSI6InJlYWQ6ZGF0YXNldHMifQ.FgroY_hei9nnmbaW3F9nFJkY5iyNyib7LzmGiN_LHAg"},\n'
        ')\n',
        "secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1LTY1NDQxODUyIiwibmFtZSI6ImxhYi1zZXJ2aWNlIiwiaWF0IjoxNzE3NzkyMzIyLCJzY29wZSI6InJlYWQ6ZGF0YXNldHMifQ.FgroY_hei9nnmbaW3F9nFJkY5iyNyib7LzmGiN_LHAg",
    },
    {
        "kind": "bearer token",
        "code": 'HEADERS = {"Authorization": "Bearer eAkN736EJAO72X2b5qRdZ2ce8zIc2n6MPsA7aFMl"}\n'
        'batch = requests.post(INFERENCE_URL, headers=HEADERS, json=payload).json()\n',
        "secret": "eAkN736EJAO72X2b5qRdZ2ce8zIc2n6MPsA7aFMl",
    },
    # --- private keys ----------------------------------------------------------------------------------------------
    {
        "kind": "private key",
        "code": 'PRIVATE_KEY = """-----BEGIN RSA PRIVATE KEY-----\n'
        "1KJftP3wq8ng/d9vmXY4GSOxt62KIKb3lowz7a/T4M8fBYOzD4DAO83oAF0u7ZBt\n"
        "gRqbv4OiyTbtbN/75bNoPcnFF3r81w5K31cHGECamVZ8UWfgZxbdabSeE8jYpkgS\n"
        "H9D23n4m9BWgP01Ac8JzSlHNRI/MA72UAKcRaLjnMDiEhed9/xpFap5x/gJtCTdZ\n"
        "dneioGrMVVroDd8Qkt0/XH0oHI9p5lF9YBC5HlkoS7nzDLADnUV/wVfms64ILRd9\n"
        "Hh1BczNkHD3n9GHOK+AO6P6DLrUdWvnNQWBz8+ecNO+MFt/RXYqgDMwe+J+uWB25\n"
        "tlTelPqwMDr12u242AK01mK8pZkx5DXLTRcVrQtVYtF2XDnnPnONfWfZbN3SmPKR\n"
        '-----END RSA PRIVATE KEY-----"""\n'
        "signer = load_pem_private_key(PRIVATE_KEY.encode(), password=None)\n",
        "secret": "-----BEGIN RSA PRIVATE KEY-----\n"
        "1KJftP3wq8ng/d9vmXY4GSOxt62KIKb3lowz7a/T4M8fBYOzD4DAO83oAF0u7ZBt\n"
        "gRqbv4OiyTbtbN/75bNoPcnFF3r81w5K31cHGECamVZ8UWfgZxbdabSeE8jYpkgS\n"
        "H9D23n4m9BWgP01Ac8JzSlHNRI/MA72UAKcRaLjnMDiEhed9/xpFap5x/gJtCTdZ\n"
        "dneioGrMVVroDd8Qkt0/XH0oHI9p5lF9YBC5HlkoS7nzDLADnUV/wVfms64ILRd9\n"
        "Hh1BczNkHD3n9GHOK+AO6P6DLrUdWvnNQWBz8+ecNO+MFt/RXYqgDMwe+J+uWB25\n"
        "tlTelPqwMDr12u242AK01mK8pZkx5DXLTRcVrQtVYtF2XDnnPnONfWfZbN3SmPKR\n"
        "-----END RSA PRIVATE KEY-----",
    },
    {
        "kind": "private key",
        "code": 'key_pem = """-----BEGIN PRIVATE KEY-----\n'
        "vpr7WPCYdwF33FexstSYMzbtQaMgQR3XYFEOmZfp6MsGG0MBdu/FbqcbuQVARtmt\n"
        "BFrHo0Dg3okTDwZNwBHa7MOF7+0dbi9iQ2b+9aWdLAxJwR/EkerivE+Dh85r2qar\n"
        "lbt1/sPWN8LhK4ASjP4oYfPzb73w/C1QTRCXksCbfjErKWy0dyEkYkoWswLkjh8u\n"
        '-----END PRIVATE KEY-----\n"""\n',
        "secret": "-----BEGIN PRIVATE KEY-----\n"
        "vpr7WPCYdwF33FexstSYMzbtQaMgQR3XYFEOmZfp6MsGG0MBdu/FbqcbuQVARtmt\n"
        "BFrHo0Dg3okTDwZNwBHa7MOF7+0dbi9iQ2b+9aWdLAxJwR/EkerivE+Dh85r2qar\n"
        "lbt1/sPWN8LhK4ASjP4oYfPzb73w/C1QTRCXksCbfjErKWy0dyEkYkoWswLkjh8u\n"
        "-----END PRIVATE KEY-----",
    },
    {
        "kind": "private key",
        "code": 'pkey = paramiko.Ed25519Key.from_private_key(io.StringIO("""-----BEGIN OPENSSH PRIVATE KEY-----\n'
        "7JQhe3Nv7i4DVhfCxraQtyO+qODtQEpdge/YvjbK6lqAdOJPYy8J/cveO5ajRdKB\n"
        "LEum5LH7kMZX5s5nJx4S3j7VGdYBkhdTXekWxteU3wwN41HaDHaBQ0/WnFW+EYrD\n"
        "MqswCL98ZQYlCTmk9uZYltFGkmjm3mcxGuxKRl0hRRZQ1vVpCvwpkQ/blUPUd+T2\n"
        "5MLGJySgTupW3UdnknnhrJ858/Bjlb1VLVh6Pxo2r+7gkJeg1dNizNtzHr+Khp4B\n"
        '-----END OPENSSH PRIVATE KEY-----"""))\n'
        'ssh.connect("gpu-node-3", username="research", pkey=pkey)\n',
        "secret": "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "7JQhe3Nv7i4DVhfCxraQtyO+qODtQEpdge/YvjbK6lqAdOJPYy8J/cveO5ajRdKB\n"
        "LEum5LH7kMZX5s5nJx4S3j7VGdYBkhdTXekWxteU3wwN41HaDHaBQ0/WnFW+EYrD\n"
        "MqswCL98ZQYlCTmk9uZYltFGkmjm3mcxGuxKRl0hRRZQ1vVpCvwpkQ/blUPUd+T2\n"
        "5MLGJySgTupW3UdnknnhrJ858/Bjlb1VLVh6Pxo2r+7gkJeg1dNizNtzHr+Khp4B\n"
        "-----END OPENSSH PRIVATE KEY-----",
    },
    # --- connection strings and URLs with credentials (the secret is the password part) -------------------------
    {
        "kind": "connection string",
        "code": 'engine = create_engine("postgresql://analyst:3VynMF143hT3wSZhxB@db.lab.internal:5432/experiments")\n'
        'df = pd.read_sql("SELECT * FROM runs", engine)\n',
        "secret": "3VynMF143hT3wSZhxB",
    },
    {
        "kind": "connection string",
        "code": 'client = MongoClient("mongodb+srv://ml_user:RwliS57E6OZopUc5@cluster0.x8k2q.mongodb.net/?retryWrites=true&w=majority")\n'
        'annotations = client["labels"]["v2"]\n',
        "secret": "RwliS57E6OZopUc5",
    },
    {
        "kind": "connection string",
        "code": 'DB_URL = "mysql+pymysql://root:BlueFalcon!2023@10.0.3.17:3306/annotations"\n',
        "secret": "BlueFalcon!2023",
    },
    {
        "kind": "connection string",
        "code": 'cache = redis.Redis.from_url("redis://:K64luPQIRsLi9BhTnwAenhXE@cache.lab.internal:6379/0")\n',
        "secret": "K64luPQIRsLi9BhTnwAenhXE",
    },
    {
        "kind": "connection string",
        "code": 'app = Celery("train", broker="amqp://worker:liyfusseu8lwwh@rabbit.lab.internal:5672//")\n',
        "secret": "liyfusseu8lwwh",
    },
    {
        "kind": "basic auth url",
        "code": 'resp = requests.get("https://mlbot:hm9tbcN8ICrumqLK6H54@artifacts.lab.example.com/models/resnet50-v3.tar.gz")\n',
        "secret": "hm9tbcN8ICrumqLK6H54",
    },
    {
        "kind": "azure storage key",
        "code": 'conn_str = "DefaultEndpointsProtocol=https;AccountName=mlexperiments;AccountKey=KrwY5yo8yctEdco45u86jqbrH0Pri06XYfEq/6vL0VSmtzq3RWP9l9zUpJ4ZQsMECB7ZqbhfXSbI+jrFQbkm+g==;EndpointSuffix=core.windows.net"\n'
        "blob_service = BlobServiceClient.from_connection_string(conn_str)\n",
        "secret": "KrwY5yo8yctEdco45u86jqbrH0Pri06XYfEq/6vL0VSmtzq3RWP9l9zUpJ4ZQsMECB7ZqbhfXSbI+jrFQbkm+g==",
    },
    # --- passwords by name -----------------------------------------------------------------------------------------
    {
        "kind": "password",
        "code": 'conn = psycopg2.connect(host="db.lab.internal", dbname="exp", user="analyst", password="m4Tq!7vRz2#Lp9Wd")\n',
        "secret": "m4Tq!7vRz2#Lp9Wd",
    },
    {
        "kind": "password",
        "code": 'DB_USER = "analyst"\nDB_PASSWORD = "Kx9$wL2p@Qr7vN"\n',
        "secret": "Kx9$wL2p@Qr7vN",
    },
    # --- written into the environment ------------------------------------------------------------------------------
    {
        "kind": "env assignment",
        "code": 'import os\nos.environ["WANDB_API_KEY"] = "64573692435359de37f11e9577d7d5abfdcb64f3"\nwandb.init(project="protein-folding")\n',
        "secret": "64573692435359de37f11e9577d7d5abfdcb64f3",
    },
    {
        "kind": "env assignment",
        "code": 'os.environ.setdefault("COMET_API_KEY", "fBIMhQcBsxkpNhhRhVFiToGwj")\n',
        "secret": "fBIMhQcBsxkpNhhRhVFiToGwj",
    },
    {
        "kind": "env assignment",
        "code": 'os.environ["NEPTUNE_API_TOKEN"] = "oADflfbXQB2DNOm6ru2xRHHtFPPqP0ZB"\n',
        "secret": "oADflfbXQB2DNOm6ru2xRHHtFPPqP0ZB",
    },
    # --- generic high-entropy values under secret-sounding names --------------------------------------------------
    {
        "kind": "generic secret",
        "code": 'api_key = "mkEOnVgUaxayXvedgEK47zRv67XNhwPH"\nclient = LabClient(api_key)\n',
        "secret": "mkEOnVgUaxayXvedgEK47zRv67XNhwPH",
    },
    {
        "kind": "generic secret",
        "code": 'API_TOKEN = "6c838acdc4bbe92537f2f26ff29c1026be55ac96"\n',
        "secret": "6c838acdc4bbe92537f2f26ff29c1026be55ac96",
    },
    {
        "kind": "generic secret",
        "code": 'secret = "SFMHvWLVA_BYcseSwagu0G47KcXHg4Rs2a5E7SaUpfj"\nsignature = hmac.new(secret.encode(), body, "sha256").hexdigest()\n',
        "secret": "SFMHvWLVA_BYcseSwagu0G47KcXHg4Rs2a5E7SaUpfj",
    },
    {
        "kind": "generic secret",
        "code": 'client_id = "lab-notebook"\nclient_secret = "In7uzPJXv2kkRGNFhc~ZBT5g7-EsEI~ojC"\n',
        "secret": "In7uzPJXv2kkRGNFhc~ZBT5g7-EsEI~ojC",
    },
    {
        "kind": "generic secret",
        "code": 'auth_token = "bf8843075b7d1fb63c0ad3995bd6c96f"\n',
        "secret": "bf8843075b7d1fb63c0ad3995bd6c96f",
    },
    {
        "kind": "dict api key",
        "code": 'config = {"api_key": "tbcDPkxSPiUXaP4FxGrkcDf2S8J1eJAD", "project": "protein-folding", "entity": "lab"}\n',
        "secret": "tbcDPkxSPiUXaP4FxGrkcDf2S8J1eJAD",
    },
    # --- forms the detectors missed (issue 16): fields inside literals, headers, webhooks, default arguments --------
    {
        "kind": "password in yaml literal",
        "code": 'CONFIG = """\ndb:\n  host: db.lab.internal\n  password: hunter2xyzQ\n"""\ncfg = yaml.safe_load(CONFIG)\n',
        "secret": "hunter2xyzQ",
    },
    {
        "kind": "password in json literal",
        "code": "creds = json.loads('{\"user\": \"ml\", \"password\": \"Tr0ub4dorXq9\"}')\n",
        "secret": "Tr0ub4dorXq9",
    },
    {
        "kind": "basic auth header",
        "code": 'headers = {"Authorization": "Basic bWw6czNjcjN0UGE1NXcwcmQ="}\nrequests.get(url, headers=headers)\n',
        "secret": "bWw6czNjcjN0UGE1NXcwcmQ=",
    },
    {
        "kind": "discord webhook",
        "code": 'DISCORD = "https://discord.com/api/webhooks/1183456789012345678/Xq3vR8tLmN2pK7wZ9yB4cD6fH1jS5gA0eU_iO-kTrV3nQ8mW2xYz"\n',
        "secret": "Xq3vR8tLmN2pK7wZ9yB4cD6fH1jS5gA0eU_iO-kTrV3nQ8mW2xYz",
    },
    {
        "kind": "teams webhook",
        "code": 'notify_url = "https://contoso.webhook.office.com/webhookb2/5f1c2a7e-8b3d-4e6f-9a0b-1c2d3e4f5a6b@72f988bf-86f1-41af-91ab-2d7cd011db47/IncomingWebhook/9c4e7a1b3d5f48e2a6c8b0d2f4e6a8c1/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"\n',
        "secret": "9c4e7a1b3d5f48e2a6c8b0d2f4e6a8c1",
    },
    {
        "kind": "webhook token in url",
        "code": 'requests.post("https://ci.lab.example/api/webhook/42?token=Zx9Yw8Vu7Ts6Rq5Pn4Mk", json=status)\n',
        "secret": "Zx9Yw8Vu7Ts6Rq5Pn4Mk",
    },
    {
        "kind": "default argument",
        "code": 'def connect(host, user="ml", password="Kd9fXy2bRt6wPz4"):\n    return psycopg2.connect(host=host, user=user, password=password)\n',
        "secret": "Kd9fXy2bRt6wPz4",
    },
    {
        "kind": "password in docstring",
        "code": 'def fetch():\n    """Reads the warehouse; staging login is ml / password: Wq7rT2yU9pLk."""\n    return query()\n',
        "secret": "Wq7rT2yU9pLk",
    },
]


LOOKALIKES = [
    # hashes
    "# model sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
    'model.load_state_dict(torch.load("model.pt"))\n',
    'CHECKSUM = "9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c"\n'
    'assert hashlib.sha256(open("weights.bin", "rb").read()).hexdigest() == CHECKSUM\n',
    'model = AutoModel.from_pretrained("bert-base-uncased", revision="1ec6f6a5c8950c4b5c21a78c696ee40ed516351d")\n',
    'GIT_COMMIT = "bc5f3957f70db91bf1e787c009ad9ef640290b5a"\n',
    'EXPECTED_MD5 = "7818da41c1dd092785ea882df3388ff8"  # imagenet tarball\n',
    'subprocess.run(["pip", "install", "git+https://github.com/huggingface/transformers@bc5f3957f70db91bf1e787c009ad9ef640290b5a"])\n',
    # identifiers and data
    'DATASET_ID = "6513270e-269e-4d37-b2a7-4de452e6b438"\n',
    'img = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="\n',
    'weights_b64 = "AAAAAM3MzD3NzEw+mpmZPs3MzD4AAAA/mpkZPzMzMz8="\n'
    "weights = np.frombuffer(base64.b64decode(weights_b64), dtype=np.float32)\n",
    'seq = "ATCTAGTAGTTATAACTAGACCGTGTTGCCACGGTCACTCATTCGCCTTAAATACTTTGCCCATATACCACGTTTATCGGGTCAAATGGTCACGCCACGAGACAGAGATTAGGTCTCCGG"\n',
    'palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]\n',
    "SEED = 1234567890\nrng = np.random.default_rng(20240611)\n",
    'timestamp_ns = "1700000000123456789"\n',
    'run_name = "resnet50_imagenet_lr0.1_bs256_wd1e-4_cosine_warmup5_seed42"\n',
    # words that sound like secrets
    'df["token_count"] = df["text"].str.split().map(len)\n',
    'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")\n'
    'tokens = tokenizer("Hello world")["input_ids"]\n',
    "max_tokens = 512\n",
    "password_min_length = 8\n",
    'token_type = "bearer"\npassword_field = "password"\nauth_method = "oauth2"\n',
    'checkpoint = "hf-internal-testing/tiny-random-bert"\nmodel_name = "sentence-transformers/all-MiniLM-L6-v2"\n',
    "# we use sk-learn (scikit-learn) for the baseline\n"
    'print("sk-learn baseline accuracy:", acc)\n',
    "# rotate the AKIA keys every 90 days; never paste them here\n",
    # names of env vars, and reading them
    'api_key_env = "WANDB_API_KEY"\n',
    'api_key = os.environ.get("OPENAI_API_KEY")\n',
    'token = os.environ["HF_TOKEN"]\n',
    'wandb.login(key=os.getenv("WANDB_API_KEY"))\n',
    'url = f"https://api.example.com/v1/runs?key={os.environ[\'LAB_API_KEY\']}"\n'
    'headers = {"Authorization": f"Bearer {os.environ[\'HF_TOKEN\']}"}\n',
    'os.environ["CUDA_VISIBLE_DEVICES"] = "0,1"\n'
    'os.environ["TOKENIZERS_PARALLELISM"] = "false"\n'
    'os.environ["WANDB_PROJECT"] = "protein-folding"\n',
    'password = getpass.getpass("DB password: ")\n',
    "client = OpenAI(api_key=None)\n",
    # placeholders (not secrets, see the module docstring)
    'API_KEY = "<your-key-here>"\n',
    'api_key = "xxx"\n',
    'openai.api_key = "sk-..."\n',
    'HF_TOKEN = "YOUR_HF_TOKEN"\n',
    'OPENAI_API_KEY = "<OPENAI_API_KEY>"\n',
    'db_password = "changeme"\n',
    'SECRET_KEY = ""\n',
    'api_key = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n',
    'auth_token = "TODO"\n',
    # URLs and paths without credentials
    'url = "https://api.example.com/v1/models?limit=10&page=2"\n',
    'engine = create_engine("postgresql://localhost:5432/experiments")\n',
    'engine = create_engine("postgresql://analyst@db.lab.internal:5432/metrics")\n',
    'REPO = "git@github.com:lab/protein-folding.git"\n',
    'DATA_DIR = "/home/researcher/data/secret_project/raw/2023-11-04"\n',
    'KEY_PATH = "~/.ssh/id_rsa"\ncredentials_path = "/etc/gcp/service-account.json"\n',
    'RAW = "s3://ml-datasets/imagenet/train/"\n',
    # patterns and prose about secrets
    'TOKEN_RE = re.compile(r"(?:ghp|gho)_[A-Za-z0-9]{36}")\nAWS_KEY_PATTERN = r"AKIA[0-9A-Z]{16}"\n',
    'PEM_HEADER = "-----BEGIN RSA PRIVATE KEY-----"\n',
    "def load_client():\n"
    '    """Set your API key in the environment first: export OPENAI_API_KEY=...\n'
    "\n"
    "    The token is read at run time, never stored in the notebook.\n"
    '    """\n'
    '    return OpenAI(api_key=os.environ["OPENAI_API_KEY"])\n',
    # look-alikes of the forms above
    'CONFIG = """\ndb:\n  host: db.lab.internal\n  password: ${DB_PASSWORD}\n"""\n',
    "creds = json.loads('{\"user\": \"ml\", \"password\": \"\"}')\n",
    'print("Basic Authentication and Bearer tokens are both supported")\n',
    'STATUS_HOOK = "https://ci.lab.example/api/webhook/status?page=2"\n',
    "def connect(host, password=None, timeout=30):\n    return Client(host, password or os.environ[\"DB_PASSWORD\"])\n",
    'prompt = "password: "\nfields = "token: str, password: str"\n',
]
