package registry

import (
	"container/list"
	"sync"
	"time"
)

// cache keeps the register's answers for a while, evicting the least recently used when full.
type cache struct {
	mu    sync.Mutex
	size  int
	order *list.List // front: most recently used; values are *entry
	byKey map[string]*list.Element
}

type entry struct {
	key     string
	answer  answer
	expires time.Time
}

func newCache(size int) *cache {
	return &cache{size: size, order: list.New(), byKey: make(map[string]*list.Element)}
}

// get returns the answer for key if it has not expired at now.
func (c *cache) get(key string, now time.Time) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return answer{}, false
	}
	e := el.Value.(*entry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, key)
		return answer{}, false
	}
	c.order.MoveToFront(el)
	return e.answer, true
}

// put stores the answer for key until expires.
func (c *cache) put(key string, a answer, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		e := el.Value.(*entry)
		e.answer, e.expires = a, expires
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&entry{key: key, answer: a, expires: expires})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*entry).key)
	}
}

// len returns how many answers are kept.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
