// SMTP replies: one table from every internal status to its reply code, enhanced status code
// (RFC 3463) and text.
//
// Session and delivery code name a Status and never write a literal code, so that a reply can be
// reviewed, tested and changed in one place (the habit of Postfix's cleanup_strerror.c). The table
// also fixes which replies close the connection.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mugai::relay {

enum class Status {
  // Positive.
  Greeting,           ///< 220 on connect
  Closing,            ///< 221 after QUIT
  HelpText,           ///< 214 to HELP
  HeloOk,             ///< 250 to HELO and the first line of the EHLO reply
  Ok,                 ///< 250 generic (NOOP, RSET)
  SenderOk,           ///< 250 to MAIL
  RecipientOk,        ///< 250 to RCPT
  Queued,             ///< 250 to the final dot: on disk and fsynced
  CannotVerify,       ///< 252 to VRFY
  StartData,          ///< 354 to DATA
  ReadyForTls,        ///< 220 to STARTTLS: the TLS handshake comes next
  // Transient.
  ShuttingDown,       ///< 421 the relay is stopping
  Timeout,            ///< 421 the client was silent too long
  TooManyErrors,      ///< 421 the error limit was reached
  TooManyConnections, ///< 421 the connection limits were reached
  SpoolIoError,       ///< 451 the spool could not store the message (never a 250)
  SpoolFull,          ///< 452 the spool's file system is full
  TooManyRecipients,  ///< 452 beyond the recipient limit
  // Permanent.
  LineTooLong,        ///< 500 a command line beyond the limit
  BareLineFeed,       ///< 500 a command line ended by a bare LF
  Unrecognized,       ///< 500 unknown command
  SyntaxError,        ///< 501 bad arguments
  BadSenderSyntax,    ///< 501 MAIL FROM address unreadable
  BadRecipientSyntax, ///< 501 RCPT TO address unreadable
  NotImplemented,     ///< 502 a known command Mugai does not offer
  BadSequence,        ///< 503 a command out of order
  ParamNotRecognized, ///< 555 an unknown MAIL/RCPT parameter
  RelayDenied,        ///< 550 recipient outside the accepted domains
  ClientDenied,       ///< 554 client address not allowed
  BareLineEnding,     ///< 550 bare CR or LF in the message data (SMTP smuggling)
  DataLineTooLong,    ///< 550 a message line beyond the limit
  MessageTooBig,      ///< 552 SIZE or data beyond the message size limit
  HeaderTooBig,       ///< 552 the header section beyond its limit
  HopCountExceeded,   ///< 554 too many Received fields (a mail loop)
  NoValidRecipients,  ///< 554 DATA with no accepted recipient
  EarlyTalker,        ///< 554 the client spoke before the greeting
  BadPipelining,      ///< 554 commands pipelined where RFC 2920 forbids it
};

struct ReplySpec {
  int code;                    ///< three-digit reply code
  std::string_view enhanced;   ///< "x.y.z", or empty where RFC 2034 has none (220, 354, EHLO)
  std::string_view text;       ///< default text
  bool closes;                 ///< the session ends after sending this reply
};

/// The table row for a status. Total: every Status has a row.
const ReplySpec& replySpec(Status status);

/// Formats a one-line reply "CODE ENH TEXT\r\n". `detail`, when not empty, replaces the default
/// text; it is stripped of CR, LF and control characters and cut to a safe length, so a client's
/// bytes echoed in a reply can never forge a second reply line.
std::string formatReply(Status status, std::string_view detail = {});

/// Formats a multi-line reply: "CODE-line\r\n"… "CODE line\r\n", with the status' enhanced code
/// on each line when it has one. An empty `lines` gives the one-line default.
std::string formatMultiline(Status status, const std::vector<std::string>& lines);

/// True for 4xx and 5xx statuses (counted as client errors by the session).
bool isError(Status status);

}  // namespace mugai::relay
