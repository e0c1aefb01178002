package home

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// RemoveContact deletes contact name: its public key and hsub secret.
func (h *Home) RemoveContact(name string) error {
	if _, err := h.Contact(name); err != nil {
		return err
	}
	for _, ext := range []string{".asc", ".hsub"} {
		if err := os.Remove(filepath.Join(h.Dir, "contacts", name+ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// RenameContact gives contact from the name to; to must not be taken.
func (h *Home) RenameContact(from, to string) error {
	if _, err := h.Contact(from); err != nil {
		return err
	}
	if err := CheckName(to); err != nil {
		return err
	}
	if _, err := h.Contact(to); err == nil {
		return fmt.Errorf("home: there is already a contact %q", to)
	}
	dir := filepath.Join(h.Dir, "contacts")
	for _, ext := range []string{".asc", ".hsub"} {
		if err := os.Rename(filepath.Join(dir, from+ext), filepath.Join(dir, to+ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
