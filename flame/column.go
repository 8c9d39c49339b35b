package flame

// column is an array kept in pages of 64Ki elements: it grows without
// copying, so that a tree of millions of nodes never holds an old and a new
// copy of its arrays at once, nor leaves the old one to the collector; and
// its elements may be set in any order.
type column[T any] struct {
	pages [][]T
	n     int32
}

const (
	pageBits = 16
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

func (c *column[T]) get(i int32) T { return c.pages[i>>pageBits][i&pageMask] }

// set sets element i, adding the elements before it that are missing.
func (c *column[T]) set(i int32, v T) {
	for int(i) >= len(c.pages)*pageSize {
		c.pages = append(c.pages, make([]T, pageSize))
	}
	c.pages[i>>pageBits][i&pageMask] = v
	c.n = max(c.n, i+1)
}

func (c *column[T]) len() int { return int(c.n) }
