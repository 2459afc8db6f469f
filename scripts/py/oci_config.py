"""What a container runtime reads from an unpacked OCI bundle's config.json (umoci unpack).

  oci_config.py process CONFIG   the entrypoint and the user's uid, on one line
  oci_config.py env CONFIG       the image's environment, one VAR=value a line, less what a
                                 runtime sets itself (PATH, HOSTNAME, TERM)
"""
import argparse
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["process", "env"])
    parser.add_argument("config", help="the bundle's config.json")
    args = parser.parse_args()
    with open(args.config) as f:
        c = json.load(f)
    if args.what == "process":
        print(c["process"]["args"][0], c["process"]["user"]["uid"])
    else:
        for e in c["process"]["env"]:
            if not e.startswith(("PATH=", "HOSTNAME=", "TERM=")):
                print(e)


if __name__ == "__main__":
    main()
