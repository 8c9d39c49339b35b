package syntax

import "slices"

// ParseHeader reads a C header given to friday trace with --include, as
// far as a script can use one without a C compiler: its #define lines
// (object-like ones are expanded in the script) and its struct, union,
// enum and typedef definitions, in the file's Defines and CDefs. Other
// declarations (function prototypes, variables, forward declarations)
// are skipped; #include lines in it are ignored as in scripts, the types
// they would bring in coming from BTF.
func ParseHeader(name string, src []byte) (*File, error) {
	imp := &Source{Name: name, Src: src}
	p := &parser{file: &File{Name: name, Src: src}}
	p.s = newScanner(src, p.scanError)
	p.s.file = imp
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(tooMany); !ok {
					panic(r)
				}
			}
		}()
		for {
			p.s.skipSpace()
			if p.s.off >= len(p.s.src) {
				return
			}
			switch word := p.rawWord(); word {
			case "typedef":
				p.parseCDef(word)
			case "struct", "union", "enum":
				if p.definesBody(word) {
					p.parseCDef(word)
				} else {
					p.skipDeclaration()
				}
			default:
				p.skipDeclaration()
			}
		}
	}()
	p.file.Defines = p.s.defList
	if len(p.errs) > 0 {
		return p.file, &ErrorList{File: name, Src: src, Errors: p.errs}
	}
	return p.file, nil
}

// ParseIncluding parses a script as Parse does, after the headers
// ParseHeader read: their #defines apply to the script, and their type
// definitions come before its own.
func ParseIncluding(name string, src []byte, headers []*File) (*File, error) {
	p := &parser{file: &File{Name: name, Src: src}}
	p.s = newScanner(src, p.scanError)
	var cdefs []*CDef
	var defs []*Define
	for _, h := range headers {
		for _, d := range h.Defines {
			p.s.defines[d.Name] = d
		}
		defs = append(defs, h.Defines...)
		cdefs = append(cdefs, h.CDefs...)
	}
	p.parseFile()
	p.file.Defines = append(defs, p.s.defList...)
	p.file.CDefs = append(cdefs, p.file.CDefs...)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *Error) int { return a.Pos.Compare(b.Pos) })
		return p.file, &ErrorList{File: name, Src: src, Errors: p.errs}
	}
	return p.file, nil
}

// definesBody tells whether the struct, union or enum keyword at the
// scanner position starts a definition ("struct s {"), not a declaration
// that merely names the type ("struct s *f(void);").
func (p *parser) definesBody(kind string) bool {
	src, i := p.s.src, p.s.off+len(kind)
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r' || isIdentByte(src[i], true)) {
		i++
	}
	return i < len(src) && src[i] == '{'
}

// skipDeclaration skips to the end of a C declaration: its ';' outside
// braces, or the '}' that closes a function body.
func (p *parser) skipDeclaration() {
	s := p.s
	depth := 0
	for s.off < len(s.src) {
		s.skipSpace()
		if s.off >= len(s.src) {
			return
		}
		c := s.src[s.off]
		s.off++
		switch c {
		case '{':
			depth++
		case '}':
			depth--
			if depth <= 0 {
				return
			}
		case ';':
			if depth <= 0 {
				return
			}
		}
	}
}
