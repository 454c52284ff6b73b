"""Fixed demo service-account key for the Voximplant SIMULATOR ONLY.

This key pair is public (it is in the repository). It has never belonged to a real Voximplant
account and must never be uploaded to one: the simulator trusts it by default so `simulate` /
`demo` and the tests can sign JWTs without generating a key at start-up (which would not be
deterministic and costs ~100 ms).
"""

from __future__ import annotations

import json

DEMO_ACCOUNT_ID = 4410001
DEMO_KEY_ID = "6f1c0a52-0d3e-4b1e-9d3a-5e1a7c0de000"  # a UUID, like real key ids
DEMO_ACCOUNT_EMAIL = "demo@numbersadmin.invalid"

DEMO_PRIVATE_KEY_PEM = """\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDQFAG4x6iZM/t7
bJeHHMx2Pzw886rtFK3Cufs7uv8oUiP+WhvCdn2V1RwC37zVauK+Kxgr3oRjg38R
oubHtL4yc1g+VDhL9Lsaf2O9XCjCkk8KApqX9GGlxDAo0oGJHlqE/6+dlMX0+w4b
nzqFj5sIKCsBi9bVCoburqEq9cIwD8yuR/wEPeR+a7B8zIYzpvRL4mYquEp3eT/9
Bi2KP9pufitw/i8NHhfKsme6XNwiC1maIQYa2xQrRVWDEz7ko1GLlgnOUtCj7eZi
c8wqm0Sx6OgTECb+zmOhU3K33jVovX2PaPQYLYwSKyPYi5ENBoN1PGAqHsCFongp
CH5fYlD5AgMBAAECggEAGZIH1yMUHUWl1zhUU7qOhs6FEtF39RwYMWilDuVPQ296
tGBy7l4c10uh3lmL7Wct96Q4m3WEK+2GMU7lUO/teqoxkzFK3My1rI8wnN3lNWoA
9BA3WsqhsFsQdwfNeuIDyjnYpUMZ453xkSPrb2vjJ6i2BkHe0/3v8Id9z1d1tm2V
pR/T/TtUPjceYM6uaIiw3TeiHcXxByDtXnswIE2W5gwnJMPzfjCXOE4a9wvtJqWh
NIa6zcdc49rXUonYWMfDcHDMKHY97r3CxE9POjvPXNO/STh8FZ6bJu4fF3xSTlAR
qaPvaLf+iUPOk1LGN9XibgDBOqYcwKX1TkGw6yzm4QKBgQD9r4QIsjTvN1wSME4a
DuQFcCnp7A5a2CGKSS5sHEQBr7PK/OHLd28aDklv7UVLj34xfl5L+jsjJjiDI7/e
7xL6N3+ha0cGta06QZT8ZEgXqEiPPWhIS73VwKJKLka3hthZsri3WQmWO8iICfrp
vAtLsmY2QyCEBrqYZc/9LN750QKBgQDR+fl3nyOGQQzBLcc/Ci1JJovGadgGVORr
opS49340UVEAjGysXwQkVgH0mAUlawYj+qxMl1NvIii7iaLUJIJGzxXna8xm7KYy
r6L/Dj+busC1v1M6lTH8IsBeEgOSfdv0X9ofTrkN7meizcBXASFqq66nWb0+f3ih
hp63YayGqQKBgD/6U8Idr1vlCkNMC2Zm+vqkHu3vqm8esta9Pgfl2QDT3vQCcq9t
n4diswKXRDKaLaktxXpD0UY8DWSFT45ZnN+dv4JmG7OFffqDL5+3arcMqb/2LKaO
84FE46jxosQGLenxOMSEn/ZTfW9RlQX9dpvQkhZ9N2YUjFqC0sF234UBAoGAUCjI
9sS28BrHPrw2Mze0YBeqBp4DjS89YGXZtt8su9ZLQRVaq1c+oox/BJxAYq9/0Z5x
xm+Ct4tn12hM1AX4AgYui4FYr/Yp4HGynQIYgGAED54xrMymH2Y43/CqknMf1CP/
hjIsbUgVIk6/3bcdxbYy38pfd4t8RtW4o7NTBLkCgYEArAc+iU0t9ROdbOAJLZxF
mde2qVbP4walYp9NHY4gNbl/f4T2t8QZ8O2i1/QvOkRLSIp9nfDPd0BdQ6UnYXdr
Vsq2RujzejeGDagPq7YmmQ3zpeKCgpYmomSBjMh4tabg9Iam4In9W5lmJnEAqa5+
abSYdx7Uf1U4Abe75E7F36M=
-----END PRIVATE KEY-----
"""

DEMO_CREDENTIALS_JSON = json.dumps(
    {
        "account_email": DEMO_ACCOUNT_EMAIL,
        "account_id": DEMO_ACCOUNT_ID,
        "key_id": DEMO_KEY_ID,
        "private_key": DEMO_PRIVATE_KEY_PEM,
    },
    indent=2,
)
