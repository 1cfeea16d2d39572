package qodertest

import (
	"crypto/sha256"
	"fmt"
	"path"
)

// SeedFile stores an uploaded file named name with content, without a
// request, and returns its id. Like every upload it is not downloadable
// until [Server.MarkDownloadable].
func (s *Server) SeedFile(name string, content []byte) string {
	part := &formFile{size: int64(len(content)), sha256: sha256.Sum256(content), content: content, kept: true}
	f := s.newFile(name, part, map[string]string{}, s.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored += f.size
	s.addFile(f)
	return f.id
}

// MarkDownloadable makes a file downloadable, as a file an agent delivered
// is, so that GET /files/{id}/content answers with a presigned URL instead
// of 403. It panics if there is no such file.
func (s *Server) MarkDownloadable(fileID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID]
	if !ok {
		panic(fmt.Sprintf("qodertest: MarkDownloadable: no file %q", fileID))
	}
	f.downloadable = true
}

// FileContent returns the bytes of a stored file, or false if there is no
// such file or the fake keeps no content ([WithoutFileContent]).
func (s *Server) FileContent(fileID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID]
	if !ok || !f.kept {
		return nil, false
	}
	return append([]byte(nil), f.content...), true
}

// DeliverArtifact makes the agent deliver a file, as its DeliverArtifacts
// tool does: it emits agent.tool_use of DeliverArtifacts for
// /data/<name> with its agent.tool_result, stores a downloadable file
// scoped to the session, and emits agent.artifact_delivered (file_id,
// original_filename, content_type, size). It returns the file id, or ""
// if the turn was cancelled.
func (t *Turn) DeliverArtifact(name string, content []byte) string {
	if t.UseTool("DeliverArtifacts", map[string]any{"paths": []string{"/data/" + name}}, "Delivered 1 file.") == "" {
		return ""
	}
	part := &formFile{size: int64(len(content)), sha256: sha256.Sum256(content), content: append([]byte(nil), content...), kept: true}
	f := t.s.newFile(name, part, map[string]string{}, t.s.Now())
	f.downloadable, f.scopeID = true, t.ss.id
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if !t.live() {
		return ""
	}
	t.s.stored += f.size
	t.s.addFile(f)
	t.prepare()
	t.record("agent.artifact_delivered", map[string]any{
		"file_id": f.id, "original_filename": f.filename, "content_type": f.mimeType, "size": f.size,
	})
	return f.id
}

// ReadFile makes the agent read a file mounted in the session (a file
// resource, by its mount path): it emits agent.tool_use of Read with the
// path and agent.tool_result with the file's text, and returns the bytes.
// A path that holds no file gives an error result and false.
func (t *Turn) ReadFile(filePath string) ([]byte, bool) {
	content, ok := t.mounted(filePath)
	id := t.emit("agent.tool_use", map[string]any{"name": "Read", "input": map[string]string{"file_path": filePath}, "evaluated_permission": "allow"})
	if id == "" {
		return nil, false
	}
	result := map[string]any{"tool_use_id": id, "content": textContent(string(content)), "is_error": false}
	if !ok {
		result["content"], result["is_error"] = textContent("No such file: "+filePath), true
	}
	t.emit("agent.tool_result", result)
	return content, ok
}

// mounted returns the content of the file resource mounted at filePath.
func (t *Turn) mounted(filePath string) ([]byte, bool) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	for _, r := range t.ss.resources {
		if r.typ != "file" || path.Clean(r.mountPath()) != path.Clean(filePath) {
			continue
		}
		if f, ok := t.s.files[r.ref]; ok && f.kept {
			return append([]byte(nil), f.content...), true
		}
	}
	return nil, false
}

// defaultMountPath is where a file resource is mounted by default.
func defaultMountPath(fileID string) string { return "/mnt/session/uploads/" + fileID }
