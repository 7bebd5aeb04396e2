// core/text_util.h: the ASCII helpers the config readers and the pipeline share.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/text_util.h"

using namespace mugai::core;

TEST_SUITE("core text_util") {
  TEST_CASE("text: isAscii is false for any byte from 0x80") {
    CHECK(text::isAscii(""));
    CHECK(text::isAscii("plain \x01\x7f text"));
    CHECK_FALSE(text::isAscii("caf\xc3\xa9"));
    CHECK_FALSE(text::isAscii(std::string("a\x80", 2)));
  }

  TEST_CASE("text: lower lowers A-Z only, UTF-8 and other bytes unchanged") {
    CHECK(text::lower("Relay.Accept_Domains") == "relay.accept_domains");
    CHECK(text::lower("\xc3\x89T\xc3\x89") == "\xc3\x89t\xc3\x89");  // ÉTÉ: only the T
    CHECK(text::lower("@[\\]^_`{") == "@[\\]^_`{");  // the bytes around A-Z and a-z
  }

  TEST_CASE("text: trim drops spaces and tabs, and a trailing CR") {
    CHECK(text::trim(" \tkey = value \t\r") == "key = value");
    CHECK(text::trim("\rkey") == "\rkey");  // a leading CR is content
    CHECK(text::trim(" \t ").empty());
  }

  TEST_CASE("text: splitList trims items, drops empty ones and keeps case") {
    CHECK(text::splitList(" smtp://A:25 ,, maildir:/Var/Mail ,") ==
          std::vector<std::string>{"smtp://A:25", "maildir:/Var/Mail"});
    CHECK(text::splitList("").empty());
    CHECK(text::splitList(" , ").empty());
  }
}
