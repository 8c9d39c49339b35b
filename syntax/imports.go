package syntax

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ResolveImports reads the files the script imports (import "path";) and
// those they import in turn, each once, and adds to f what they declare:
// C type definitions, config settings, macros, functions, map declarations
// and probes. An imported file's probes come before those of the file that
// imports it, as in bpftrace. A path names a .bt file, or a directory whose
// .bt files are all imported in name order. A relative path is relative to
// the directory of the file that imports it; for the script itself, to dir.
//
// On failure the error is an *ErrorList: for a file that cannot be read,
// at the import; for a syntax error, in the imported file.
func ResolveImports(f *File, dir string) error {
	r := &importer{seen: map[string]bool{}}
	probes := r.file(f, dir)
	if len(r.errs) > 0 {
		return &ErrorList{File: f.Name, Src: f.Src, Errors: r.errs}
	}
	if r.parseErr != nil {
		return r.parseErr
	}
	f.Probes = append(probes, f.Probes...)
	return nil
}

type importer struct {
	seen     map[string]bool // absolute paths of the files read
	errs     []*Error        // about import statements
	parseErr error           // the first syntax error in an imported file
}

// file resolves the imports of f, whose relative paths start at dir, and
// returns the probes they bring, in the order they run.
func (r *importer) file(f *File, dir string) []*Probe {
	var probes []*Probe
	for _, im := range f.Imports {
		path := im.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		paths, err := importPaths(path)
		if errors.Is(err, fs.ErrNotExist) && isStdlib(im.Path) {
			continue
		}
		if err != nil {
			r.errs = append(r.errs, &Error{Pos: im.P, Msg: fmt.Sprintf("Cannot import %q: %v", im.Path, err)})
			continue
		}
		for _, path := range paths {
			probes = append(probes, r.read(f, path, im)...)
		}
	}
	return probes
}

// stdlibModules are the bpftrace-language modules of the standard library
// bpftrace's current release embeds, by the names scripts import them by
// ("stdlib" imports them all). bpftrace imports its standard library into
// every script; its definitions (strlen, strcontains, is_str, usermode,
// kfunc_allowed, signal, macaddr, socket_cookie, has_key...) are friday's
// builtins, so importing one of them adds nothing a script lacks. A file
// of the name next to the importing one comes first, as in bpftrace.
var stdlibModules = []string{
	"stdlib/arch.bt", "stdlib/base.bt", "stdlib/internal.bt", "stdlib/kfunc.bt",
	"stdlib/meta.bt", "stdlib/network.bt", "stdlib/process.bt", "stdlib/socket.bt",
	"stdlib/strings.bt",
}

func isStdlib(name string) bool {
	return name == "stdlib" || slices.Contains(stdlibModules, name)
}

// read parses the imported file path, merges what it declares into f and
// returns its probes, after those of its own imports.
func (r *importer) read(f *File, path string, im *Import) []*Probe {
	abs, err := filepath.Abs(path)
	if err != nil || r.seen[abs] {
		return nil
	}
	r.seen[abs] = true
	src, err := os.ReadFile(path)
	if err != nil {
		r.errs = append(r.errs, &Error{Pos: im.P, Msg: fmt.Sprintf("Cannot import %q: %v", im.Path, unwrapPath(err))})
		return nil
	}
	imp, err := parse(path, src, &Source{Name: path, Src: src})
	if err != nil {
		if r.parseErr == nil {
			r.parseErr = err
		}
		return nil
	}
	probes := r.file(imp, filepath.Dir(path))
	f.CDefs = append(f.CDefs, imp.CDefs...)
	f.Config = append(f.Config, imp.Config...)
	f.Macros = append(f.Macros, imp.Macros...)
	f.Funcs = append(f.Funcs, imp.Funcs...)
	f.Maps = append(f.Maps, imp.Maps...)
	return append(probes, imp.Probes...)
}

// importPaths is the .bt file path, or the .bt files of directory path.
func importPaths(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	if !st.IsDir() {
		if !strings.HasSuffix(path, ".bt") {
			return nil, errors.New("only .bt files and directories of them can be imported")
		}
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	var paths []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".bt") {
			paths = append(paths, filepath.Join(path, e.Name()))
		}
	}
	if len(paths) == 0 {
		return nil, errors.New("the directory has no .bt files")
	}
	slices.Sort(paths)
	return paths, nil
}

// unwrapPath drops the path from a file system error: the message shows
// the import as written.
func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}
