// The wording of every finding and removal-reason code, in Japanese and English.
//
// Kept in one table so that the notice, the report and the summary use one meaning per code.
// The notice lists only notice-worthy codes (changes a reader should know about); the rest are
// report-only facts (which charset was used, parser warnings that changed nothing visible).
#include "core/findings.h"

#include <algorithm>
#include <array>

namespace mugai::core {
namespace {

struct Row {
  std::string_view code;
  bool notice;
  std::string_view ja;
  std::string_view en;
};

// Sorted by code (checked by a unit test) so lookup is a binary search.
constexpr std::array kRows = std::to_array<Row>({
    {"alternative.unused", false, "代替表示用の別形式の本文を使用しませんでした",
     "an alternative form of the body was not used"},
    {"archive.unsupported", true, "この形式の圧縮ファイルは展開・検査できないため削除しました",
     "archives of this kind cannot be inspected, so the file was removed"},
    {"calendar.attachment_removed", true, "予定表の添付 (ATTACH) を削除しました",
     "an attachment inside the calendar item (ATTACH) was removed"},
    {"calendar.html_removed", true, "予定表の HTML 説明 (X-ALT-DESC) を削除しました",
     "the HTML description of the calendar item (X-ALT-DESC) was removed"},
    {"calendar.property_removed", false, "予定表の許可されていない項目を削除しました",
     "calendar properties that are not allowed were removed"},
    {"csv.formula_neutralized", true, "CSV の数式として解釈されるセルを無害化しました (先頭に ' を付加)",
     "CSV cells that would run as formulas were neutralized (prefixed with ')"},
    {"encrypted.file", true, "暗号化・パスワード保護されたファイルは検査できないため削除しました",
     "encrypted or password-protected files cannot be inspected, so it was removed"},
    {"encrypted.mail", true, "暗号化されたメールは検査できないため削除しました",
     "encrypted mail cannot be inspected, so it was removed"},
    {"encrypted.zip", true,
     "パスワード付き ZIP は中身を検査できないため削除しました。原本が必要な場合は下記の原本IDでお問い合わせください",
     "a password-protected zip cannot be inspected, so it was removed; ask for the original with the ID below"},
    {"error.internal", true, "内部エラーが発生しました",
     "an internal error occurred"},
    {"error.sanitizer", true, "処理中にエラーが発生したため削除しました",
     "an error occurred while processing it, so it was removed"},
    {"error.self_verify", true, "再構成したメールの自己検査に失敗しました",
     "the rebuilt message failed its self-check"},
    {"header.address_dropped", false, "7ビットで表せないアドレスを削除しました",
     "an address that cannot be written in 7-bit form was dropped"},
    {"header.date_invalid", false, "解釈できない Date ヘッダを削除しました",
     "an unparseable Date header was dropped"},
    {"header.duplicate", false, "重複したヘッダのうち最初のものを採用しました",
     "a header appeared more than once; the first was used"},
    {"header.raw_8bit", false, "エンコードされていない 8 ビットのヘッダを変換しました",
     "a header with raw 8-bit characters was re-encoded"},
    {"html.active_url_removed", false, "動的コンテンツの URL を除去しました",
     "URLs of active content were removed"},
    {"html.base_removed", false, "<base> 要素を除去しました", "a <base> element was removed"},
    {"html.converted", true, "HTML 形式の本文をテキスト形式に変換しました",
     "the HTML body was converted to plain text"},
    {"html.form_removed", false, "フォームを除去しました", "a form was removed"},
    {"html.meta_refresh_removed", false, "自動転送 (meta refresh) を除去しました",
     "an automatic redirect (meta refresh) was removed"},
    {"html.script_removed", true, "HTML 内のスクリプトを除去しました",
     "scripts in the HTML were removed"},
    {"limit.depth", true, "入れ子が深すぎるため削除しました",
     "it was nested too deeply, so it was removed"},
    {"limit.header_bytes", false, "ヘッダが大きすぎるため一部を切り詰めました",
     "the header was too large and was cut"},
    {"limit.header_fields", false, "ヘッダ行が多すぎるため残りを読みませんでした",
     "there were too many header fields; the rest were not read"},
    {"limit.html_bytes", true, "HTML が大きすぎるため途中までをテキストにしました",
     "the HTML was too large; only its beginning was converted"},
    {"limit.html_depth", false, "HTML の入れ子が深すぎる部分を平坦化しました",
     "too deeply nested HTML was flattened"},
    {"limit.message_bytes", true, "メールが大きすぎるため処理できませんでした",
     "the message is too large to process"},
    {"limit.parts", true, "パートが多すぎるため残りを削除しました",
     "there were too many parts; the rest were removed"},
    {"limit.received_headers", false, "経路情報 (Received) が多すぎるため一部を省きました",
     "there were too many Received fields; some were left out"},
    {"limit.text_bytes", true, "本文が大きすぎるため途中で切り詰めました",
     "the text was too large and was cut"},
    {"limit.wall_time", true, "処理時間の上限を超えたため削除しました",
     "processing took too long, so it was removed"},
    {"message.external_body", true, "外部参照形式 (message/external-body) のパートを削除しました",
     "an external-body reference (message/external-body) was removed"},
    {"message.partial", true, "分割メール (message/partial) の断片を削除しました",
     "a fragment of a split message (message/partial) was removed"},
    {"mime.headerless", false, "ヘッダのない入力を本文のみのメールとして扱いました",
     "input without a header block was read as a body only"},
    {"mime.leading_junk", false, "先頭の空白行を無視してヘッダを読みました",
     "leading blank or indented lines were skipped to read the header"},
    {"mime.parser_critical", true, "MIME 構造に解釈の分かれる箇所があったため、再構成しました",
     "the MIME structure was ambiguous; the message was rebuilt from one reading of it"},
    {"mime.parser_warning", false, "MIME 構造に問題がありました", "the MIME structure had problems"},
    {"mime.unparseable", true, "メールとして解釈できませんでした",
     "the input could not be parsed as a message"},
    {"name.blocked_extension", true, "ファイル名が危険な形式を示しているため削除しました",
     "the file name marks a dangerous type, so it was removed"},
    {"related.image_dropped", true, "本文に埋め込まれた画像を削除しました",
     "an image embedded in the body was removed"},
    {"signature.dropped", true, "電子署名は再構成により無効になるため削除しました",
     "the digital signature was removed (rebuilding invalidates it)"},
    {"smime.opaque_signed", true, "S/MIME 署名データ形式の本文は検査できないため削除しました",
     "an opaque S/MIME signed body cannot be inspected, so it was removed"},
    {"text.bidi_neutralized", true, "文字の表示順を偽装できる制御文字 (双方向制御) を除去しました",
     "bidirectional control characters that can disguise text were removed"},
    {"text.charset_detected", false, "文字コードを判別して変換しました",
     "the charset was detected and converted"},
    {"text.charset_mislabelled", false, "宣言と異なる文字コードを判別して変換しました",
     "the declared charset was wrong; the real one was detected"},
    {"text.control_removed", false, "制御文字を除去しました", "control characters were removed"},
    {"text.encoded_file_removed", true, "本文中に埋め込まれたファイルを削除しました",
     "a file encoded inside the text was removed"},
    {"text.invalid_bytes", false, "不正なバイト列を置換文字 (U+FFFD) にしました",
     "invalid bytes were replaced with U+FFFD"},
    {"type.blocked", true, "この形式のファイルは設定により削除しました",
     "files of this type are removed by policy"},
    {"type.executable", true, "実行ファイル・スクリプト等は受け取れないため削除しました",
     "executables, scripts and the like are not accepted, so it was removed"},
    {"type.mismatch", false, "宣言された形式と中身の形式が異なります",
     "the declared type does not match the content"},
    {"type.no_sanitizer", true, "この形式のファイルは無害化できないため削除しました",
     "files of this type cannot be sanitized, so it was removed"},
    {"type.unsafe_text", true, "HTML・SVG 等の添付は動的な内容を含み得るため削除しました",
     "HTML, SVG and similar attachments can carry active content, so it was removed"},
});

constexpr Description kUnknown{"その他の変更", "other change"};

const Row* find(std::string_view code) {
  const auto* it = std::lower_bound(kRows.begin(), kRows.end(), code,
                                    [](const Row& r, std::string_view c) { return r.code < c; });
  if (it == kRows.end() || it->code != code) return nullptr;
  return &*it;
}

}  // namespace

std::string_view dispositionName(Disposition d) {
  switch (d) {
    case Disposition::Kept: return "kept";
    case Disposition::Converted: return "converted";
    case Disposition::Rebuilt: return "rebuilt";
    case Disposition::Removed: return "removed";
    case Disposition::Container: return "container";
  }
  return "removed";
}

Description describe(std::string_view code) {
  const Row* r = find(code);
  return r ? Description{r->ja, r->en} : kUnknown;
}

bool isNoticeWorthy(std::string_view code) {
  const Row* r = find(code);
  return r == nullptr || r->notice;  // unknown codes are shown: fail towards telling the reader
}

bool codesAreSorted() {
  return std::is_sorted(kRows.begin(), kRows.end(),
                        [](const Row& a, const Row& b) { return a.code < b.code; });
}

}  // namespace mugai::core
