-- wrk script for scripts/bench.sh: every request POSTs the same GraphQL query, the
-- catalogue's hot path (a page of recordings with their contributions and parties),
-- so the number measures resolver + database work, not just HTTP.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"{ recordings(first: 50) { edges { node { id isrc title artist contributions { role shareBps party { name } } } } pageInfo { endCursor hasNextPage } } }"}'
