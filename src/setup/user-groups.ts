// The user this process runs as and the groups it is in, by name, for `@group` entries of
// trusted-users. From /etc/group (the primary group by its id, the others by member lists), as the
// daemon resolves them; a machine with groups elsewhere (LDAP) shows only what /etc/group holds.
import { readFileSync } from 'node:fs'
import { userInfo } from 'node:os'

/** Group names of `user` (primary group id `gid`) in /etc/group's text. Pure. */
export function groupsOf(user: string, gid: number, groupFile: string): string[] {
  const groups: string[] = []
  for (const line of groupFile.split('\n')) {
    const [name, , id, members = ''] = line.split(':')
    if (!name || id === undefined) continue
    if (Number(id) === gid || members.split(',').includes(user)) groups.push(name)
  }
  return groups
}

/** This process's user and groups; empty when the system will not say. */
export function currentUserGroups(): { user: string; groups: string[] } {
  try {
    const { username, gid } = userInfo()
    let groupFile = ''
    try {
      groupFile = readFileSync('/etc/group', 'utf8')
    } catch {
      // No /etc/group: only trusted-users entries naming the user itself can match.
    }
    return { user: username, groups: groupsOf(username, gid, groupFile) }
  } catch {
    return { user: '', groups: [] }
  }
}
