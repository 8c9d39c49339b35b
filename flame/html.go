package flame

import (
	"errors"
	"io"
)

// WriteHTML writes the viewer for large profiles.
func (t *Tree) WriteHTML(out io.Writer, o Options) error {
	return errors.New("html: not yet")
}
