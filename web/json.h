// File: web/json.h
//
// Herald's JSON library: Boost.JSON (a value type, a parser and a serializer,
// RFC 8259), named herald::json. It is the one Boost piece used above the web
// layer: the gateway's request bodies and answers and the workers' /healthz
// are JSON documents, and a wrapper of our own would only rename its API.
// Include this header, never <boost/json.hpp>: the layering check
// (tools/layering) gives Boost to web/ alone.
//
// Example:
//
//   herald::json::error_code ec;
//   herald::json::value body = herald::json::parse(text, ec);
//   if (ec || !body.is_object()) return BadRequest("body is not a JSON
//   object"); std::string out =
//   herald::json::serialize(herald::json::object{{"ok", true}});
#ifndef HERALD_WEB_JSON_H_
#define HERALD_WEB_JSON_H_

#include <boost/json.hpp>

namespace herald {
namespace json = ::boost::json;
}  // namespace herald

#endif  // HERALD_WEB_JSON_H_
