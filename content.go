package qoder

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// ContentBlockType is the type of a [ContentBlock].
type ContentBlockType string

// Content block types. The API may add more; a block of another type still
// decodes, with its Type set and the fields it shares with these.
const (
	ContentBlockTypeText         ContentBlockType = "text"
	ContentBlockTypeImage        ContentBlockType = "image"
	ContentBlockTypeDocument     ContentBlockType = "document"
	ContentBlockTypeSearchResult ContentBlockType = "search_result"
)

// ContentBlock is one block of message or tool-result content, shared by
// input events (what you send) and output events (what you receive).
//
// It is a single struct for every block type: Type says which fields apply.
//   - text: Text.
//   - image: Source (base64, url or file).
//   - document: Source (base64, text, url or file), optional Title and Context.
//   - search_result: Source (a bare string on the wire, held in Source.URL),
//     Title, Content (text blocks) and Citations.
//
// Build blocks with [TextBlock], [ImageBlock], [DocumentBlock] and
// [SearchResultBlock].
type ContentBlock struct {
	Type      ContentBlockType `json:"type"`
	Text      string           `json:"text,omitempty"`
	Source    *ContentSource   `json:"source,omitempty"`
	Title     string           `json:"title,omitempty"`
	Context   string           `json:"context,omitempty"`
	Content   []ContentBlock   `json:"content,omitzero"`
	Citations *Citations       `json:"citations,omitempty"`
}

// MarshalJSON encodes the block; a text block always has its "text" key,
// even when the text is empty, as the API requires.
func (b ContentBlock) MarshalJSON() ([]byte, error) {
	type plain ContentBlock
	if b.Type != ContentBlockTypeText {
		return json.Marshal(plain(b))
	}
	return json.Marshal(struct {
		plain
		Text string `json:"text"`
	}{plain(b), b.Text})
}

// Citations configures citations for a search_result block.
type Citations struct {
	Enabled bool `json:"enabled"`
}

// ContentSourceType is the type of a [ContentSource].
type ContentSourceType string

// Content source types.
const (
	ContentSourceTypeBase64 ContentSourceType = "base64"
	ContentSourceTypeText   ContentSourceType = "text"
	ContentSourceTypeURL    ContentSourceType = "url"
	ContentSourceTypeFile   ContentSourceType = "file"
)

// ContentSource is where the data of an image or document block comes from:
//   - base64: Data (standard base64) and MediaType, e.g. "image/png" or "application/pdf".
//   - text: Data (plain text) and MediaType, e.g. "text/plain" (documents only).
//   - url: URL.
//   - file: FileID of an uploaded file.
//
// A search_result block's source is a bare JSON string on the wire; it
// decodes into a ContentSource with an empty Type and the string in URL, and
// such a ContentSource encodes back to the bare string.
type ContentSource struct {
	Type      ContentSourceType `json:"type,omitempty"`
	Data      string            `json:"data,omitempty"`
	MediaType string            `json:"media_type,omitempty"`
	URL       string            `json:"url,omitempty"`
	FileID    string            `json:"file_id,omitempty"`
}

// MarshalJSON encodes s as an object, or as a bare string when s holds only
// a URL and no Type (the search_result form).
func (s ContentSource) MarshalJSON() ([]byte, error) {
	if s.isBare() {
		return json.Marshal(s.URL)
	}
	type plain ContentSource
	return json.Marshal(plain(s))
}

// UnmarshalJSON decodes a source object, or a bare string into URL.
func (s *ContentSource) UnmarshalJSON(data []byte) error {
	type fields ContentSource
	return unmarshalStringOr(data, s, (*fields)(s))
}

func (s *ContentSource) fromString(url string) { s.URL = url }

func (s ContentSource) isBare() bool {
	return s.Type == "" && s.URL != "" && s.Data == "" && s.MediaType == "" && s.FileID == ""
}

// TextBlock returns a text block.
func TextBlock(text string) ContentBlock {
	return ContentBlock{Type: ContentBlockTypeText, Text: text}
}

// ImageBlock returns an image block; src is a [Base64Source], [URLSource] or
// [FileSource].
func ImageBlock(src ContentSource) ContentBlock {
	return ContentBlock{Type: ContentBlockTypeImage, Source: &src}
}

// DocumentBlock returns a document block with an optional title ("" for
// none); src is a [Base64Source], [TextSource], [URLSource] or [FileSource].
func DocumentBlock(src ContentSource, title string) ContentBlock {
	return ContentBlock{Type: ContentBlockTypeDocument, Source: &src, Title: title}
}

// SearchResultBlock returns a search_result block (for tool results): source
// is the result's URL or identifier and content its text blocks.
func SearchResultBlock(source, title string, content ...ContentBlock) ContentBlock {
	return ContentBlock{
		Type:    ContentBlockTypeSearchResult,
		Source:  &ContentSource{URL: source},
		Title:   title,
		Content: content,
	}
}

// Base64Source returns a base64 source holding data, encoded with standard
// base64; mediaType is e.g. "image/png" or "application/pdf".
func Base64Source(mediaType string, data []byte) ContentSource {
	return ContentSource{
		Type:      ContentSourceTypeBase64,
		Data:      base64.StdEncoding.EncodeToString(data),
		MediaType: mediaType,
	}
}

// TextSource returns a plain-text document source; mediaType is usually
// "text/plain".
func TextSource(mediaType, text string) ContentSource {
	return ContentSource{Type: ContentSourceTypeText, Data: text, MediaType: mediaType}
}

// URLSource returns a source that the platform fetches from u.
func URLSource(u string) ContentSource {
	return ContentSource{Type: ContentSourceTypeURL, URL: u}
}

// FileSource returns a source that refers to an uploaded file by its id.
func FileSource(fileID string) ContentSource {
	return ContentSource{Type: ContentSourceTypeFile, FileID: fileID}
}

// blocksText concatenates the Text of the text blocks in blocks. A single
// text block's string is returned as is, without copying.
func blocksText(blocks []ContentBlock) string {
	n, last, size := 0, -1, 0
	for i := range blocks {
		if blocks[i].Type == ContentBlockTypeText {
			n++
			last = i
			size += len(blocks[i].Text)
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return blocks[last].Text
	}
	var b strings.Builder
	b.Grow(size)
	for i := range blocks {
		if blocks[i].Type == ContentBlockTypeText {
			b.WriteString(blocks[i].Text)
		}
	}
	return b.String()
}

// ContentBlocks is the content of an output event: an array of blocks.
// Decoding also accepts the legacy bare-string form, which becomes one text
// block.
type ContentBlocks []ContentBlock

// Text returns the concatenated text of the text blocks.
func (c ContentBlocks) Text() string { return blocksText(c) }

// UnmarshalJSON accepts an array of blocks or a bare string.
func (c *ContentBlocks) UnmarshalJSON(data []byte) error {
	return unmarshalStringOr(data, c, (*[]ContentBlock)(c))
}

func (c *ContentBlocks) fromString(s string) { *c = ContentBlocks{TextBlock(s)} }
