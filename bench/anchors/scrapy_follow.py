# Scrapy following links from one start URL, as its tutorial writes a spider:
# response.follow() for every link, the default in-memory scheduler (no
# JOBDIR) and duplicate filter, 16 requests in flight, robots.txt obeyed,
# stopping after MAX_PAGES pages (CloseSpider; CLOSESPIDER_PAGECOUNT would
# count the robots.txt responses too).
# Usage: python3 scrapy_follow.py START_URL MAX_PAGES -> prints {"pages": N, "seconds": S}
import json
import sys
import time

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.exceptions import CloseSpider


class Follow(scrapy.Spider):
    name = "follow"

    def __init__(self, start, max_pages, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [start]
        self.max_pages = max_pages
        self.pages = 0

    def parse(self, response):
        if self.pages >= self.max_pages:
            raise CloseSpider("enough pages")
        self.pages += 1
        response.css("title::text").get()
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, callback=self.parse)


if __name__ == "__main__":
    start, max_pages = sys.argv[1], int(sys.argv[2])
    process = CrawlerProcess(settings={
        "LOG_LEVEL": "ERROR",
        "CONCURRENT_REQUESTS": 16,
        # Every host of the synthetic web is 127.0.0.1 (one port each), and
        # Scrapy's slots are per domain: no per-domain limit below 16.
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "ROBOTSTXT_OBEY": True,
        "TELNETCONSOLE_ENABLED": False,
        "RETRY_TIMES": 2,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    })
    crawler = process.create_crawler(Follow)
    started = time.perf_counter()
    process.crawl(crawler, start=start, max_pages=max_pages)
    process.start()
    pages = crawler.spider.pages
    print(json.dumps({"pages": pages, "seconds": time.perf_counter() - started}))
