"""The image's SBOMs as an OCI artefact, to push and sign next to the image (registry.sh).

  sbom_artifact.py make OUT IMAGE_LAYOUT SBOM...   writes an OCI layout at OUT (tag `sbom`): one
      manifest, artifactType application/vnd.cyclonedx+json, a layer per SBOM file (titled by its
      name), the empty config, and as `subject` the image's manifest (the first in IMAGE_LAYOUT's
      index.json), so registries with the OCI 1.1 referrers API list it under the image
  sbom_artifact.py files LAYOUT DIR                 writes each layer of LAYOUT's manifest into DIR
      under its title, after checking its digest
"""
import argparse
import hashlib
import json
import os

CYCLONEDX_JSON = "application/vnd.cyclonedx+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
TITLE = "org.opencontainers.image.title"


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def get_blob(layout, digest):
    algo, hexdigest = digest.split(":", 1)
    with open(os.path.join(layout, "blobs", algo, hexdigest), "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != hexdigest:
        raise SystemExit(f"{layout}: blob {digest} does not match its digest")
    return data


def first_manifest(layout):
    with open(os.path.join(layout, "index.json")) as f:
        return json.load(f)["manifests"][0]


def make(out, image_layout, sboms):
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    image = first_manifest(image_layout)
    layers = []
    for path in sboms:
        with open(path, "rb") as f:
            desc = put_blob(out, f.read())
        layers.append({"mediaType": CYCLONEDX_JSON, **desc, "annotations": {TITLE: os.path.basename(path)}})
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": CYCLONEDX_JSON,
        "config": {"mediaType": EMPTY, **put_blob(out, b"{}")},
        "layers": layers,
        "subject": {"mediaType": image["mediaType"], "digest": image["digest"], "size": image["size"]},
    }
    desc = put_blob(out, json.dumps(manifest, separators=(",", ":")).encode())
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": MANIFEST, **desc, "annotations": {"org.opencontainers.image.ref.name": "sbom"}}]}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    print(desc["digest"])


def files(layout, out):
    manifest = json.loads(get_blob(layout, first_manifest(layout)["digest"]))
    if manifest.get("artifactType") != CYCLONEDX_JSON:
        raise SystemExit(f"{layout}: artifactType {manifest.get('artifactType')!r}, not {CYCLONEDX_JSON}")
    os.makedirs(out, exist_ok=True)
    for layer in manifest["layers"]:
        name = os.path.basename(layer["annotations"][TITLE])
        with open(os.path.join(out, name), "wb") as f:
            f.write(get_blob(layout, layer["digest"]))
        print(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make")
    p.add_argument("out")
    p.add_argument("image_layout")
    p.add_argument("sboms", nargs="+")
    p = sub.add_parser("files")
    p.add_argument("layout")
    p.add_argument("out")
    args = parser.parse_args()
    if args.command == "make":
        make(args.out, args.image_layout, args.sboms)
    else:
        files(args.layout, args.out)


if __name__ == "__main__":
    main()
