# The seeds' spider design (seed 001): a multiprocessing Pool fetches with
# urllib, the callback parses the page with html.parser on the main process.
# Usage: python3 python_crawl.py URLS_FILE  -> prints {"pages": N, "seconds": S}
import json, sys, time
from html.parser import HTMLParser
from multiprocessing import Pool, cpu_count
from urllib.parse import urljoin, urldefrag
from urllib.request import urlopen


def get_page(url):
    try:
        with urlopen(url, timeout=30) as response:
            return url, response.status, response.read().decode("utf-8", "replace")
    except Exception as error:  # noqa: BLE001 - a page error is data
        return url, 0, str(error)


class Extract(HTMLParser):
    def __init__(self, base):
        super().__init__()
        self.base, self.links, self.title, self.in_title = base, [], None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "title" and self.title is None:
            self.in_title, self.title = True, ""
        elif tag in ("a", "area") and attrs.get("href"):
            self.links.append(urldefrag(urljoin(self.base, attrs["href"]))[0])

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False

    def handle_data(self, data):
        if self.in_title:
            self.title += data


records = []


def parse_page(result):
    url, status, body = result
    extract = Extract(url)
    extract.feed(body)
    records.append({"url": url, "status": status, "title": extract.title, "links": len(set(extract.links))})


if __name__ == "__main__":
    urls = [line.strip() for line in open(sys.argv[1]) if line.strip()]
    start = time.perf_counter()
    p = Pool(cpu_count())
    for url in urls:
        p.apply_async(get_page, args=(url,), callback=parse_page)
    p.close()
    p.join()
    print(json.dumps({"pages": len(records), "seconds": time.perf_counter() - start}))
