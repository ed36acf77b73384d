/**
 * The dnstap message schema (the dnstap project's dnstap.proto, proto2,
 * package `dnstap`), as protobufjs parses it. It is a wire-format
 * specification: the field numbers and types below are what every dnstap
 * reader (dnstap-read, kdig -G, fstrm_capture + dnstap) expects. shardns
 * fills in `Dnstap` and `Message`; `Policy` and the HTTP protocol are
 * declared so the schema is the whole one.
 */
export const DNSTAP_PROTO = `
syntax = "proto2";
package dnstap;

// The top-level payload of each data frame.
message Dnstap {
  optional bytes identity = 1;    // server identity (as NSID would give it)
  optional bytes version = 2;     // server version (as version.bind would give it)
  optional bytes extra = 3;       // free-form annotation
  enum Type {
    MESSAGE = 1;
  }
  required Type type = 15;        // which payload below is filled in
  optional Message message = 14;
}

enum SocketFamily {
  INET = 1;    // address fields hold 4 octets
  INET6 = 2;   // address fields hold 16 octets
}

enum SocketProtocol {
  UDP = 1;
  TCP = 2;
  DOT = 3;
  DOH = 4;
  DNSCryptUDP = 5;
  DNSCryptTCP = 6;
  DOQ = 7;
}

enum HttpProtocol {
  HTTP1 = 1;
  HTTP2 = 2;
  HTTP3 = 3;
}

// An operator policy applied to a message (shardns applies none).
message Policy {
  enum Match {
    QNAME = 1;
    CLIENT_IP = 2;
    RESPONSE_IP = 3;
    NS_NAME = 4;
    NS_IP = 5;
  }
  enum Action {
    NXDOMAIN = 1;
    NODATA = 2;
    PASS = 3;
    DROP = 4;
    TRUNCATE = 5;
    LOCAL_DATA = 6;
  }
  optional string type = 1;
  optional bytes rule = 2;
  optional Action action = 3;
  optional Match match = 4;
  optional bytes value = 5;
}

// One DNS message, verbatim in wire form, and where and when it was seen.
message Message {
  enum Type {
    AUTH_QUERY = 1;          // a query an authoritative server received
    AUTH_RESPONSE = 2;       // the response it sent
    RESOLVER_QUERY = 3;
    RESOLVER_RESPONSE = 4;
    CLIENT_QUERY = 5;        // a query a recursive server (or forwarder) received from a client
    CLIENT_RESPONSE = 6;     // the response it sent
    FORWARDER_QUERY = 7;
    FORWARDER_RESPONSE = 8;
    STUB_QUERY = 9;
    STUB_RESPONSE = 10;
    TOOL_QUERY = 11;
    TOOL_RESPONSE = 12;
    UPDATE_QUERY = 13;
    UPDATE_RESPONSE = 14;
  }
  required Type type = 1;
  optional SocketFamily socket_family = 2;
  optional SocketProtocol socket_protocol = 3;
  optional bytes query_address = 4;      // the initiator's address
  optional bytes response_address = 5;   // the responder's address
  optional uint32 query_port = 6;
  optional uint32 response_port = 7;
  optional uint64 query_time_sec = 8;    // seconds since the epoch
  optional fixed32 query_time_nsec = 9;  // and nanoseconds
  optional bytes query_message = 10;
  optional bytes query_zone = 11;
  optional uint64 response_time_sec = 12;
  optional fixed32 response_time_nsec = 13;
  optional bytes response_message = 14;
  optional Policy policy = 15;
  optional HttpProtocol http_protocol = 16;
}
`;

/** The Frame Streams content type of dnstap (what READY, ACCEPT and START carry). Here, not in dnstap.ts, so the log writer does not load protobufjs. */
export const DNSTAP_CONTENT_TYPE = 'protobuf:dnstap.Dnstap';
