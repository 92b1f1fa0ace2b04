"""The official Python Elasticsearch client (8.x) against `esocc serve`: product check, compat
media types, the seed walkthrough with its typed errors, update (with a script), mget, bulk. Run by tests/rest_clients.rs
with the server's URL as the only argument; exits non-zero on the first failed check."""

import sys

from elasticsearch import BadRequestError, ConflictError, Elasticsearch, NotFoundError, helpers

url = sys.argv[1]
es = Elasticsearch(url, request_timeout=10)

info = es.info()
assert info["tagline"] == "You Know, for Search", info
assert es.ping()

es.indices.create(index="py", settings={"number_of_shards": 2, "number_of_replicas": 1})
assert es.indices.exists(index="py")

created = es.index(index="py", id="1", document={"views": 0})
assert created["result"] == "created" and created["_shards"] == {"total": 2, "successful": 1, "failed": 0}, created

doc = es.get(index="py", id="1")
seq_no, term = doc["_seq_no"], doc["_primary_term"]
updated = es.index(index="py", id="1", document={"views": 1}, if_seq_no=seq_no, if_primary_term=term)
assert updated["result"] == "updated", updated

try:
    es.index(index="py", id="1", document={"views": 100}, if_seq_no=seq_no, if_primary_term=term)
    raise AssertionError("stale if_seq_no was accepted")
except ConflictError as e:
    assert e.meta.status == 409
    assert e.body["error"]["type"] == "version_conflict_engine_exception", e.body
    assert e.body["error"]["reason"].startswith("[1]: version conflict, required seqNo [0], primary term [1]."), e.body

result = es.update(index="py", id="1", doc={"views": 2}, retry_on_conflict=5)
assert result["result"] == "updated", result
assert es.get(index="py", id="1")["_source"] == {"views": 2}

try:
    es.get(index="py", id="missing")
    raise AssertionError("missing document was found")
except NotFoundError as e:
    assert e.body == {"_index": "py", "_id": "missing", "found": False}, e.body

assert not es.exists(index="py", id="missing")

ok, errors = helpers.bulk(es, [{"_index": "py", "_id": str(i), "n": i} for i in range(10, 20)])
assert ok == 10 and errors == [], (ok, errors)
response = es.bulk(operations=[{"create": {"_index": "py", "_id": "10"}}, {"n": 0}])
assert response["errors"] is True and response["items"][0]["create"]["status"] == 409, response

scripted = es.update(
    index="py",
    id="1",
    script={"source": "ctx._source.views += params.by", "lang": "painless", "params": {"by": 3}},
    retry_on_conflict=3,
    source=True,
)
assert scripted["result"] == "updated" and scripted["get"]["_source"] == {"views": 5}, scripted
es.update(index="py", id="counter", script="ctx._source.n++", upsert={"n": 0})
es.update(index="py", id="counter", script="ctx._source.n++", upsert={"n": 0})
assert es.get(index="py", id="counter")["_source"] == {"n": 1}

try:
    es.update(index="py", id="1", script="for (x in y) {}")
    raise AssertionError("an unsupported script ran")
except BadRequestError as e:
    assert e.body["error"]["caused_by"]["type"] == "script_exception", e.body

many = es.mget(index="py", ids=["1", "missing"])
assert [d["found"] for d in many["docs"]] == [True, False], many
many = es.mget(docs=[{"_index": "py", "_id": "1", "_source": ["views"]}, {"_index": "nope", "_id": "1"}])
assert many["docs"][0]["_source"] == {"views": 5}, many
assert many["docs"][1]["error"]["type"] == "index_not_found_exception", many

# Near-real-time search: a write is in GET at once, in search after a refresh (no background
# refresh on this index, so the count before the refresh is certain).
es.indices.create(index="pynrt", settings={"refresh_interval": "-1"})
es.index(index="pynrt", id="fresh", document={"views": 7, "tag": "new"})
assert es.get(index="pynrt", id="fresh")["found"]
assert es.count(index="pynrt", query={"term": {"tag": "new"}})["count"] == 0
es.indices.refresh(index="pynrt")
found = es.search(index="pynrt", query={"bool": {"filter": [{"term": {"tag": "new"}}]}}, seq_no_primary_term=True)
assert found["hits"]["total"] == {"value": 1, "relation": "eq"}, found
assert found["hits"]["hits"][0]["_id"] == "fresh" and found["hits"]["hits"][0]["_score"] == 0.0, found
updated = es.update_by_query(index="pynrt", query={"term": {"tag": "new"}}, script={"source": "ctx._source.views += 1"}, refresh=True)
assert updated["updated"] == 1 and updated["failures"] == [], updated
assert es.get(index="pynrt", id="fresh")["_source"]["views"] == 8
es.indices.refresh(index="py")
ranged = es.search(index="py", query={"range": {"n": {"gte": 10, "lt": 13}}}, sort=[{"n": "desc"}], size=2)
assert [h["_id"] for h in ranged["hits"]["hits"]] == ["12", "11"], ranged
deleted = es.delete_by_query(index="py", query={"range": {"n": {"gte": 10}}}, conflicts="proceed")
assert deleted["deleted"] == 10 and deleted["version_conflicts"] == 0, deleted
es.indices.delete(index="pynrt")

assert es.cluster.health()["status"] == "yellow"
es.indices.delete(index="py")
print("official client: ok")
